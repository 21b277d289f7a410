// Shared by the Node clients of `npm run bench -- compare` (plain Node ESM; the @neuro-sdk ones load
// the BUILT packages, no `source` condition, so what is measured is what users run).
//
// Protocol with bench/compare.ts: a client does its setup (loading the stored login), then the
// measured operation, and prints one line `RESULT {...}` (seconds of the operation, CPU seconds of
// this process during it, and measure-specific counts). Peak RSS and whole-process CPU are taken
// by the orchestrator.
/** Print the result line read by bench/compare.ts. */
export const report = (result) => {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
}

/** The positional arguments, or exit with a usage line. */
export const args = (names) => {
  const argv = process.argv.slice(2)
  if (argv.length < names.length) {
    process.stderr.write(`usage: ${process.argv[1]} ${names.join(" ")}\n`)
    process.exit(2)
  }
  return argv
}
