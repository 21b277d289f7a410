/**
 * The fast path of the job decoder agrees with the Schema (`WireJob` + `toJobDescription`): the
 * same `JobDescription` for every job the Schema accepts, a refusal for every job it refuses;
 * over the fixtures, every field removed, nulled or replaced, and random combinations.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { decoderOf, Reject } from "../src/internal/fastDecode.js"
import { fastJob, jobSchema, jobSchemaWithoutFastPath } from "../src/internal/jobsDecode.js"
import { imageDecoder } from "../src/internal/jobsWire.js"
import { fullJob, localPlatformJob, minimalJob } from "./jobsFixtures.js"

type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type Path = ReadonlyArray<string | number>

const decodeImage = imageDecoder({ username: "user", orgName: null, registries: [["default", "registry.example.org"]] })
const fast = fastJob(decodeImage)
const slow = Schema.decodeUnknownEither(jobSchemaWithoutFastPath(decodeImage), { errors: "all" })

const fixtures: ReadonlyArray<readonly [string, () => Json]> = [
  ["minimal", minimalJob as () => Json],
  ["full", fullJob as () => Json],
  ["LocalPlatform", localPlatformJob as () => Json]
]

/** Both decoders on `u`: refused by both, or accepted by both with strictly equal jobs. */
const agree = (u: unknown, label: string): void => {
  const expected = slow(u)
  const actual = fast(u)
  if (Either.isLeft(expected)) {
    expect(actual, `${label}: the Schema refuses it`).toBe(Reject)
  } else {
    expect(actual, `${label}: the Schema accepts it`).not.toBe(Reject)
    expect(actual, label).toStrictEqual(expected.right)
    // the same fields in the same order (what printing a job shows)
    expect(JSON.stringify(actual), label).toBe(JSON.stringify(expected.right))
  }
}

/** Every path to a value in `json` (object keys and array indexes). */
const pathsOf = (json: Json, prefix: Path = []): Array<Path> => {
  const out: Array<Path> = []
  if (Array.isArray(json)) {
    json.forEach((v, i) => out.push([...prefix, i], ...pathsOf(v, [...prefix, i])))
  } else if (json !== null && typeof json === "object") {
    for (const [k, v] of Object.entries(json)) out.push([...prefix, k], ...pathsOf(v, [...prefix, k]))
  }
  return out
}

/** `json` with the value at `path` replaced (`undefined`: removed). */
const withValue = (json: Json, path: Path, value: Json | undefined): Json => {
  const copy = structuredClone(json)
  let target: Json = copy
  for (const key of path.slice(0, -1)) target = (target as Record<string | number, Json>)[key]!
  const last = path[path.length - 1]!
  if (value === undefined) {
    if (Array.isArray(target)) target.splice(Number(last), 1)
    else delete (target as Record<string, Json>)[last]
  } else {
    ;(target as Record<string | number, Json>)[last] = value
  }
  return copy
}

/** Values that exercise every wire type: wrong types, edge texts of dates, URLs, decimals, enums. */
const replacements: ReadonlyArray<Json> = [
  null,
  "",
  "x",
  " ",
  0,
  -1,
  1.5,
  1e21,
  true,
  false,
  [],
  {},
  ["a"],
  [1],
  { a: "b" },
  { a: 1 },
  "2020-01-01T00:00:00Z",
  "2020-13-01",
  "yesterday",
  "job://c/u/j",
  "storage://c/u/x",
  "http://h:1",
  "::",
  "low",
  "HIGH",
  "Normal",
  "urgent",
  "never",
  "on-failure",
  "always",
  "running",
  "pending",
  "cancelled",
  "hibernating",
  "1e5",
  " 12 ",
  "-.5",
  "inf",
  "sNaN12",
  "1.2.3",
  "10.01"
]

describe("job decoder: fast path ≡ Schema", () => {
  it("the fixtures", () => {
    for (const [name, make] of fixtures) {
      const job = make()
      expect(fast(job), name).not.toBe(Reject)
      agree(job, name)
    }
  })

  it("every field removed, nulled or replaced", () => {
    for (const [name, make] of fixtures) {
      const base = make()
      for (const path of pathsOf(base)) {
        agree(withValue(base, path, undefined), `${name} without ${path.join(".")}`)
        for (const value of replacements) {
          agree(withValue(base, path, value), `${name} ${path.join(".")} = ${JSON.stringify(value)}`)
        }
      }
    }
  })

  it("optional fields added to the minimal job", () => {
    const base = minimalJob() as Json
    for (const path of pathsOf(fullJob() as Json)) {
      for (const value of replacements) agree(withValue(base, path.slice(0, 1), value), `minimal + ${path[0]} = ${JSON.stringify(value)}`)
    }
  })

  it("records: odd keys, __proto__, non-text values", () => {
    for (const env of ['{"__proto__":"x","b":"c"}', '{"__proto__":{"y":"1"}}', '{"constructor":"c"}', '{"":""}', '{"a":null}']) {
      const job = minimalJob() as Record<string, Json>
      const container = job.container as Record<string, Json>
      agree({ ...job, container: { ...container, env: JSON.parse(env) } }, `env ${env}`)
      agree({ ...job, container: { ...container, secret_env: JSON.parse(env) } }, `secret_env ${env}`)
    }
  })

  it("random combinations of changes", () => {
    const bases = fixtures.map(([, make]) => make())
    const change = fc.tuple(fc.nat(), fc.option(fc.constantFrom(...replacements), { nil: undefined }))
    fc.assert(
      fc.property(fc.nat({ max: bases.length - 1 }), fc.array(change, { minLength: 1, maxLength: 4 }), (b, changes) => {
        let job: Json = bases[b]!
        for (const [i, value] of changes) {
          const paths = pathsOf(job)
          if (paths.length === 0) break
          job = withValue(job, paths[i % paths.length]!, value)
        }
        agree(job, JSON.stringify(job))
      }),
      { numRuns: 3000 }
    )
  })

  it("random JSON values", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (u) => agree(u, JSON.stringify(u))), { numRuns: 500 })
  })

  it("the compiled decoder takes the fast path, and gives the Schema's error when it refuses", () => {
    const decoder = decoderOf(jobSchema(decodeImage))
    const ok = decoder.sync(localPlatformJob())
    expect(Either.isRight(ok)).toBe(true)
    const bad = decoder.sync({ ...minimalJob(), uri: "not a uri" })
    expect(Either.isLeft(bad) && bad.left._tag).toBe("ParseError")
  })
})
