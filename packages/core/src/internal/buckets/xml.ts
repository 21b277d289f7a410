/**
 * The little XML the S3 and Azure Blob APIs speak: a strict element-tree reader (elements, text,
 * entities, CDATA, attributes; namespaces ignored) and an escaper for the bodies the client sends.
 *
 * @internal
 */

/** @internal */
export interface XmlElement {
  readonly name: string
  readonly children: ReadonlyArray<XmlElement>
  readonly text: string
  /** Attributes by name (entities decoded; namespaces not resolved). */
  readonly attributes: Readonly<Record<string, string>>
}

const attributesOf = (body: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const m of body.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!] = decodeEntities(m[2] ?? m[3] ?? "")
  return out
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

const decodeEntities = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16))
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10))
    const v = ENTITIES[e]
    if (v === undefined) throw new Error(`unknown entity ${m}`)
    return v
  })

/** @internal */
export const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

interface Building {
  readonly name: string
  readonly children: Array<XmlElement>
  readonly attributes: Readonly<Record<string, string>>
  text: string
}

/** The root element of a document, or an error message. */
/** @internal */
export const parseXml = (text: string): XmlElement | string => {
  const stack: Array<Building> = []
  let root: XmlElement | undefined
  let i = 0
  const n = text.length
  try {
    while (i < n) {
      const lt = text.indexOf("<", i)
      const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt)
      if (chunk !== "") {
        if (stack.length > 0) stack[stack.length - 1]!.text += decodeEntities(chunk)
        else if (chunk.trim() !== "") return "text outside the root element"
      }
      if (lt < 0) break
      if (text.startsWith("<?", lt)) {
        const end = text.indexOf("?>", lt)
        if (end < 0) return "unterminated processing instruction"
        i = end + 2
      } else if (text.startsWith("<!--", lt)) {
        const end = text.indexOf("-->", lt)
        if (end < 0) return "unterminated comment"
        i = end + 3
      } else if (text.startsWith("<![CDATA[", lt)) {
        const end = text.indexOf("]]>", lt)
        if (end < 0 || stack.length === 0) return "misplaced CDATA"
        stack[stack.length - 1]!.text += text.slice(lt + 9, end)
        i = end + 3
      } else if (text.startsWith("<!", lt)) {
        const end = text.indexOf(">", lt)
        if (end < 0) return "unterminated declaration"
        i = end + 1
      } else if (text.startsWith("</", lt)) {
        const end = text.indexOf(">", lt)
        if (end < 0) return "unterminated closing tag"
        const name = text.slice(lt + 2, end).trim()
        const open = stack.pop()
        if (open === undefined || open.name !== name) return `unexpected closing tag </${name}>`
        const done: XmlElement = { name: open.name, children: open.children, text: open.text, attributes: open.attributes }
        if (stack.length > 0) stack[stack.length - 1]!.children.push(done)
        else if (root === undefined) root = done
        else return "more than one root element"
        i = end + 1
      } else {
        const end = text.indexOf(">", lt)
        if (end < 0) return "unterminated tag"
        const body = text.slice(lt + 1, end)
        const selfClosing = body.endsWith("/")
        const m = /^([A-Za-z_][\w.:-]*)/.exec(body)
        if (m === null) return "bad tag name"
        const name = m[1]!
        const attributes = attributesOf(body.slice(name.length, selfClosing ? -1 : undefined))
        if (selfClosing) {
          const done: XmlElement = { name, children: [], text: "", attributes }
          if (stack.length > 0) stack[stack.length - 1]!.children.push(done)
          else if (root === undefined) root = done
          else return "more than one root element"
        } else {
          stack.push({ name, children: [], text: "", attributes })
        }
        i = end + 1
      }
    }
  } catch (e) {
    return e instanceof Error ? e.message : "bad XML"
  }
  if (stack.length > 0) return `unclosed element <${stack[stack.length - 1]!.name}>`
  return root ?? "empty document"
}

/** The first child element with that name. */
/** @internal */
export const child = (e: XmlElement, name: string): XmlElement | undefined => e.children.find((c) => c.name === name)

/** Every child element with that name. */
/** @internal */
export const childrenNamed = (e: XmlElement, name: string): ReadonlyArray<XmlElement> => e.children.filter((c) => c.name === name)

/** The text of the first child with that name. */
/** @internal */
export const childText = (e: XmlElement, name: string): string | undefined => child(e, name)?.text

/** The `<Error><Code/><Message/></Error>` document of an S3 or Azure answer, as `Code: Message`, when the body is one. */
/** @internal */
export const errorDocText = (body: string): string | undefined => {
  if (!body.trimStart().startsWith("<")) return undefined
  const doc = parseXml(body)
  if (typeof doc === "string" || doc.name !== "Error") return undefined
  const code = childText(doc, "Code")
  const message = childText(doc, "Message")
  if (code === undefined) return undefined
  return message === undefined || message.trim() === "" ? code : `${code}: ${message.trim()}`
}
