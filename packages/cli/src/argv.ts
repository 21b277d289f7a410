/**
 * Command-line rewrites done before @effect/cli parses it, where the Python CLI's conventions and
 * @effect/cli's differ.
 *
 * @since 1.0.0
 */

/** Commands whose `-h` means `--human-readable` (in @effect/cli `-h` is `--help`). */
const HUMAN_READABLE = new Set(["ls", "tree", "du"])

/** Commands whose combined short flags (`-lh`) are split (@effect/cli reads them only before arguments). */
const SPLIT_FLAGS = new Set(["ls", "tree", "du", "cp", "rm", "mkdir", "mv", "ps", "df", "glob"])

/** Commands whose `-p`/`-P` are `--progress`/`--no-progress`. */
const PROGRESS = new Set(["cp", "rm"])

/** Options of `run` and `exec` that take a value (the next argument, unless written `--name=value`). */
const VALUE_OPTIONS: Record<string, ReadonlySet<string>> = {
  run: new Set([
    "--cluster", "--org", "-s", "--preset", "--http", "--http-port", "-n", "--name", "--tag", "-d", "--description", "-v", "--volume",
    "--entrypoint", "-w", "--workdir", "-e", "--env", "--env-file", "--restart", "--life-span", "--schedule-timeout", "--port-forward",
    "--share", "--priority", "--energy-schedule"
  ]),
  exec: new Set([])
}

const COMMANDS = new Set([...HUMAN_READABLE, ...SPLIT_FLAGS, ...PROGRESS, "run", "exec"])

/**
 * Rewrites before parsing, up to a `--` (after which everything is passed as it is):
 * - after the IMAGE of `run` and the JOB of `exec` a `--` is put if missing: the rest is the
 *   container's command, even when it looks like options (`neuro run ubuntu ls -l`);
 * - combined short flags of the storage commands and `ps` are split (`-lh` → `-l -h`);
 * - `-h` after `ls`, `tree` or `du` is `--human-readable` (click has no `-h` help alias);
 * - `-p`/`-P` of `cp` and `rm` are `--progress`/`--no-progress`.
 *
 * @since 1.0.0
 * @category parsing
 */
export const preprocess = (args: ReadonlyArray<string>): Array<string> => {
  rawArgs = args
  const out: Array<string> = []
  let command: string | undefined
  let passthrough = false
  let pendingValue = false
  for (const arg of args) {
    if (passthrough) {
      out.push(arg)
      continue
    }
    if (command === "run" || command === "exec") {
      // after the image (run) or job (exec), everything is the container's command
      out.push(arg)
      if (arg === "--") passthrough = true
      else if (arg.startsWith("-")) {
        if (VALUE_OPTIONS[command]!.has(arg)) pendingValue = true
      } else if (pendingValue) pendingValue = false
      else {
        out.push("--")
        passthrough = true
      }
      continue
    }
    if (arg === "--") {
      passthrough = true
      out.push(arg)
      continue
    }
    if (command === undefined && !arg.startsWith("-") && COMMANDS.has(arg)) command = arg
    const flags = command !== undefined && SPLIT_FLAGS.has(command) && /^-[a-zA-Z]{2,}$/.test(arg)
      ? [...arg.slice(1)].map((c) => `-${c}`)
      : [arg]
    for (const flag of flags) {
      if (command !== undefined && HUMAN_READABLE.has(command) && flag === "-h") out.push("--human-readable")
      else if (command !== undefined && PROGRESS.has(command) && (flag === "-p" || flag === "-P")) {
        out.push(flag === "-p" ? "--progress" : "--no-progress")
      } else out.push(flag)
    }
  }
  return out
}

let rawArgs: ReadonlyArray<string> = []

/**
 * The `--exclude`/`--include` rules of the command line in the order given (later ones win, so
 * the order across the two options matters, which parsed repeated options do not keep).
 *
 * @since 1.0.0
 * @category parsing
 */
export const filterRules = (): Array<{ readonly exclude: boolean; readonly pattern: string }> => {
  const rules: Array<{ exclude: boolean; pattern: string }> = []
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!
    if (arg === "--") break
    for (const [name, exclude] of [["--exclude", true], ["--include", false]] as const) {
      if (arg === name && i + 1 < rawArgs.length) rules.push({ exclude, pattern: rawArgs[++i]! })
      else if (arg.startsWith(name + "=")) rules.push({ exclude, pattern: arg.slice(name.length + 1) })
    }
  }
  return rules
}
