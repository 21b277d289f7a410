/**
 * The columns of `neuro ps` / `neuro top` and their `--format` syntax: column ids separated by
 * spaces or commas, `a/b` for a cell holding two values on two lines, and `{id;align=..;min=..;
 * max=..;width=..;TITLE}` to set a column's properties (as the Python CLI's `ps-format`).
 *
 * @since 1.0.0
 */
import type { JobDescription } from "@neuro-sdk/core/Jobs"
import * as Effect from "effect/Effect"
import { valueError } from "../output/errors.js"
import { formatDuration, formatWhen } from "../output/format.js"
import type { Column } from "../output/table.js"

/**
 * @since 1.0.0
 * @category models
 */
export interface Context {
  readonly me: string
  readonly clusterName: string
  readonly orgName: string | null
  readonly fullUri: boolean
  readonly iso: boolean
}

/**
 * @since 1.0.0
 * @category models
 */
export interface ColumnInfo {
  readonly title: string
  readonly align?: "left" | "right" | "center"
  readonly maxWidth?: number
  readonly value: (job: JobDescription, context: Context) => string
}

const image = (job: JobDescription, c: Context) => {
  const img = job.container.image
  if (c.fullUri || !img.isInNeuroRegistry) return c.fullUri ? String(img) : img.asDockerUrl()
  if (img.owner === c.me && img.clusterName === c.clusterName && (img.orgName ?? null) === c.orgName) {
    return `image:${img.name}${img.tag ? `:${img.tag}` : ""}`
  }
  return String(img)
}

/**
 * @since 1.0.0
 * @category columns
 */
export const jobColumns: Readonly<Record<string, ColumnInfo>> = {
  id: { title: "ID", value: (j) => j.id },
  name: { title: "NAME", maxWidth: 40, value: (j) => j.name ?? "" },
  tags: { title: "TAGS", maxWidth: 40, value: (j) => j.tags.join(", ") },
  status: { title: "STATUS", maxWidth: 10, value: (j) => j.status },
  when: { title: "WHEN", maxWidth: 32, value: (j, c) => formatWhen(j.history.changedAt, c.iso) },
  created: { title: "CREATED", maxWidth: 15, value: (j, c) => formatWhen(j.history.createdAt, c.iso) },
  started: { title: "STARTED", maxWidth: 15, value: (j, c) => formatWhen(j.history.startedAt, c.iso) },
  finished: { title: "FINISHED", maxWidth: 15, value: (j, c) => formatWhen(j.history.finishedAt, c.iso) },
  image: { title: "IMAGE", maxWidth: 40, value: image },
  owner: { title: "OWNER", maxWidth: 25, value: (j, c) => (j.owner === c.me ? "<you>" : j.owner) },
  cluster_name: { title: "CLUSTER", maxWidth: 15, value: (j) => j.clusterName },
  org_name: { title: "ORG", maxWidth: 15, value: (j) => j.orgName ?? "" },
  description: { title: "DESCRIPTION", maxWidth: 50, value: (j) => j.description ?? "" },
  command: { title: "COMMAND", maxWidth: 100, value: (j) => j.container.command ?? "" },
  life_span: { title: "LIFE-SPAN", value: (j) => (j.lifeSpan !== undefined ? formatDuration(j.lifeSpan) : "no limit") },
  workdir: { title: "WORKDIR", value: (j) => j.container.workingDir ?? "" },
  preset: { title: "PRESET", value: (j) => j.presetName ?? "" }
}

/**
 * @since 1.0.0
 * @category constants
 */
export const PS_DEFAULT_FORMAT = "id/name status/when image org_name/owner command"

/**
 * @since 1.0.0
 * @category models
 */
export interface FormatColumn extends Column {
  readonly ids: ReadonlyArray<string>
}

const TOKEN = /(\w+(?:\/\w+)*)|\{([^}]+)\}|(\s*(?:,\s*|\s))|(.)/g
const COLUMN = /^(\w+(?:\/\w+)*)((?:;(?:align|min|max|width)=\w+)*)(?:;(.+))?$/

const lookup = (id: string, columns: Readonly<Record<string, ColumnInfo>>, fmt: string) => {
  if (columns[id] !== undefined) return id
  const candidates = Object.keys(columns).filter((name) => name.startsWith(id))
  if (candidates.length === 1) return candidates[0]!
  throw candidates.length === 0
    ? `Unknown column '${id}' in format '${fmt}'`
    : `Ambiguous column '${id}' in format '${fmt}'; available variants: ${candidates.join(", ")}`
}

/**
 * Parse a `--format` value.
 *
 * @since 1.0.0
 * @category parsing
 */
export const parseColumns = (fmt: string, columns: Readonly<Record<string, ColumnInfo>>) =>
  Effect.try({
    try: () => {
      const out: Array<FormatColumn> = []
      for (const m of fmt.matchAll(TOKEN)) {
        if (m[3] !== undefined) continue
        if (m[4] !== undefined) throw `Invalid format '${fmt}'`
        const spec = m[1] ?? m[2]!
        const parsed = COLUMN.exec(spec)
        if (parsed === null) throw `Invalid format '${fmt}'`
        const ids = parsed[1]!.toLowerCase().split("/").map((id) => lookup(id, columns, fmt))
        const props = Object.fromEntries([...parsed[2]!.matchAll(/;(\w+)=(\w+)/g)].map((p) => [p[1]!, p[2]!]))
        const align = props.align ?? columns[ids[0]!]!.align ?? "left"
        if (!["left", "right", "center"].includes(align)) throw `Unknown align ${align}`
        const max = props.max ?? props.width
        const maxWidths = ids.map((id) => columns[id]!.maxWidth).filter((w): w is number => w !== undefined)
        out.push({
          ids,
          title: parsed[3] ?? ids.map((id) => columns[id]!.title).join("/"),
          align: align as "left" | "right" | "center",
          maxWidth: max !== undefined ? Number(max) : maxWidths.length === ids.length ? Math.max(...maxWidths) : undefined,
          minWidth: props.min !== undefined ? Number(props.min) : props.width !== undefined ? Number(props.width) : undefined
        })
      }
      if (out.length === 0) throw `Invalid format '${fmt}'`
      return out
    },
    catch: (message) => valueError(String(message))
  })
