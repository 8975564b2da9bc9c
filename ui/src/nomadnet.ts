// Typed calls for /api/v1/nomadnet (api/openapi.yaml: NomadNetNode, NomadNetPage, MicronDoc) and the pure
// helpers of the NomadNet browser: the address bar, link targets and the form data a link submits.
import { request } from './api'

/** A NomadNet node heard on the mesh (GET /nomadnet/nodes). */
export interface NomadNode {
  address: string
  name: string
  hops: number
  last_heard: string
}

/** MicronDoc is a page parsed by the server (pkg/nomadnet/micron): text, styles, links and fields, never HTML. */
export interface MicronDoc {
  header: { cache_seconds?: number; bg?: string; fg?: string }
  lines: MicronLine[]
  truncated?: boolean
}

export interface MicronLine {
  kind: 'text' | 'heading' | 'divider'
  level?: number
  depth: number
  align: 'left' | 'center' | 'right'
  char?: string
  anchors?: string[]
  spans?: MicronSpan[]
}

export interface MicronSpan {
  text: string
  bold?: boolean
  italic?: boolean
  underline?: boolean
  fg?: string
  bg?: string
  link?: MicronLink
  field?: MicronField
}

export interface MicronLink {
  url: string
  /** 32 hex digits, or empty for the node the page came from. */
  node?: string
  path?: string
  kind: 'page' | 'file' | 'anchor' | 'other'
  fields?: string[]
  all?: boolean
  vars?: Record<string, string>
}

export interface MicronField {
  type: 'text' | 'checkbox' | 'radio'
  name: string
  value: string
  label?: string
  width?: number
  rows?: number
  masked?: boolean
  checked?: boolean
}

/** A fetched page (POST /nomadnet/page). */
export interface NomadPage {
  node: string
  path: string
  content: string
  size: number
  cached: boolean
  fetched_at: string
  doc: MicronDoc
}

export interface PageRequest {
  node: string
  path: string
  fields?: Record<string, string>
  refresh?: boolean
}

/** A page of nodes; next_cursor fetches the next page, null at the end. */
export interface NomadNodePage {
  items: NomadNode[]
  next_cursor: string | null
}

export const nomadnet = {
  nodes: (q: string, cursor = '', limit = 50) =>
    request<NomadNodePage>(
      'GET',
      `/nomadnet/nodes?${new URLSearchParams({ q, cursor, limit: String(limit) }).toString()}`,
    ),
  page: (req: PageRequest) => request<NomadPage>('POST', '/nomadnet/page', { body: req }),
}

/** fileURL is where the browser downloads a node's file from. */
export function fileURL(node: string, path: string): string {
  return `/api/v1/nomadnet/file?${new URLSearchParams({ node, path }).toString()}`
}

export const DEFAULT_PATH = '/page/index.mu'
const HASH = /^[0-9a-fA-F]{32}$/

/** A place in NomadNet: a node and a path on it. */
export interface Location {
  node: string
  path: string
}

/**
 * parseAddressBar reads "<node hex>:/page/x.mu", "<node hex>" (its index page) or ":/path" / "/path"
 * (on the current node). It returns null for anything else.
 */
export function parseAddressBar(text: string, current: string): Location | null {
  const s = text.trim()
  let node = s
  let path = ''
  const colon = s.indexOf(':')
  if (s.startsWith('/')) {
    node = ''
    path = s
  } else if (colon >= 0) {
    node = s.slice(0, colon)
    path = s.slice(colon + 1)
  }
  if (node === '') node = current
  if (!HASH.test(node)) return null
  if (path === '') path = DEFAULT_PATH
  if (!path.startsWith('/') || path.length > 1024) return null
  return { node: node.toLowerCase(), path }
}

/** formatLocation is the address bar text for a location. */
export function formatLocation(l: Location): string {
  return `${l.node}:${l.path}`
}

/** linkTarget is where a page or file link leads from a page on node `from`. */
export function linkTarget(link: MicronLink, from: string): Location | null {
  if ((link.kind !== 'page' && link.kind !== 'file') || !link.path) return null
  return { node: link.node || from, path: link.path }
}

/** The values the page's inputs hold now, keyed by the field object of the page on screen. */
export type FieldValues = Map<MicronField, string | boolean>

/** allFields lists the page's input fields in page order. */
export function allFields(doc: MicronDoc): MicronField[] {
  const out: MicronField[] = []
  for (const l of doc.lines) for (const s of l.spans ?? []) if (s.field) out.push(s.field)
  return out
}

/** initialValues is each field's value as the page sets it (radios: the last checked in a group wins). */
export function initialValues(doc: MicronDoc): FieldValues {
  const v: FieldValues = new Map()
  for (const f of allFields(doc)) {
    if (f.type === 'text') v.set(f, f.value)
    else v.set(f, f.checked === true)
  }
  return v
}

/**
 * formData is what following a link submits, as the reference browser sends it: field_<name> for each
 * named input (all of them for `*`), a checked radio's value, the checked checkboxes' values joined by
 * commas, and var_<key> for the link's variables.
 */
export function formData(link: MicronLink, doc: MicronDoc, values: FieldValues): Record<string, string> | undefined {
  const wanted = new Set(link.fields ?? [])
  const vars = link.vars ?? {}
  if (!link.all && wanted.size === 0 && Object.keys(vars).length === 0) return undefined
  const out: Record<string, string> = {}
  for (const f of allFields(doc)) {
    if (!link.all && !wanted.has(f.name)) continue
    const key = `field_${f.name}`
    const v = values.get(f)
    if (f.type === 'text') out[key] = typeof v === 'string' ? v : f.value
    else if (v === true && f.type === 'radio') out[key] = f.value
    else if (v === true) out[key] = out[key] ? `${out[key]},${f.value}` : f.value
  }
  for (const [k, v] of Object.entries(vars)) out[`var_${k}`] = v
  return out
}

const COLOUR = /^#[0-9a-f]{6}$/

/** safeColour passes only "#rrggbb" (what the parser produces), for CSSOM style properties. */
export function safeColour(c: string | undefined): string {
  return c && COLOUR.test(c) ? c : ''
}

/** pageError says in words why a page did not load. */
export function pageError(status: number, code: string, message: string): string {
  switch (code) {
    case 'not_found':
      return 'The node has no such page.'
    case 'no_path':
      return 'No path to this node is known. It may be out of reach, or not have announced itself yet.'
    case 'link_failed':
      return 'Could not open a link to the node.'
    case 'timeout':
      return 'The node did not answer in time.'
    case 'not_allowed':
      return 'The node does not allow this request.'
    case 'too_large':
      return 'The page is larger than Reticle accepts.'
    case 'bad_response':
      return 'The node sent an answer that could not be read.'
    case 'bad_path':
      return 'That is not a page address: the path must start with /page/ or /file/.'
    case 'unavailable':
      return 'NomadNet browsing is not running on this Reticle.'
  }
  if (status === 504) return 'The node did not answer in time.'
  if (status === 404) return 'The node has no such page.'
  if (status === 502) return 'Could not reach the node.'
  return message || 'The page could not be loaded.'
}
