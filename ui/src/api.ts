// The one HTTP client for Reticle's JSON API (/api/v1).
//
// Every call sends the session cookie (credentials: 'same-origin'); every
// state-changing call also sends the CSRF token in X-CSRF-Token. A 401 from
// any call that expects a session runs the handler set with onUnauthorized,
// which sends the app back to the status check and the login screen.

const BASE = '/api/v1'

export type IntegrityStatus = 'verified' | 'unsigned-dev' | 'warning' | 'failed'
export type AtRestStatus = 'ok' | 'changed' | 'unclean' | 'first-run' | 'unknown' | 'tampered' | 'no-record' | 'skipped'

export interface AuthStatus {
  setup_required: boolean
  authenticated: boolean
  csrf_token?: string
}

export interface CSRFResponse {
  csrf_token: string
}

export interface SystemInfo {
  version: string
  commit: string
  date: string
  integrity: { status: IntegrityStatus | string; message: string }
  at_rest: { status: AtRestStatus | string; message: string }
  features: Record<string, boolean>
}

export type ID = string | number

export interface Session {
  id: ID
  created_at: string
  last_seen_at: string | null
  ip: string
  user_agent: string
  current: boolean
}

export type TokenScope = 'read' | 'full'

export interface APIToken {
  id: ID
  name: string
  scope: TokenScope | string
  created_at: string
  last_used_at: string | null
}

export interface CreatedToken {
  id: ID
  token: string
}

/** Own LXMF delivery address (32 hex digits) and display name. */
export interface Identity {
  address: string
  display_name: string
  identity_hash?: string
  /** 64-byte public key (X25519 then Ed25519), hex. */
  public_key?: string
}

/** An LXMF peer learned from a delivery announce. */
export interface Peer {
  address: string
  /** The owner's contact name when set, else the announced name. */
  display_name: string
  announced_name?: string
  contact?: boolean
  favourite?: boolean
  last_seen: string
  hops: number
  stamp_cost?: number
  /** Announced aspects seen for this identity: lxmf.delivery, lxmf.propagation, nomadnetwork.node. */
  aspects?: string[]
}

/** The owner's node settings (GET/PATCH /api/v1/settings). */
export interface NodeSettings {
  display_name: string
  announce_interval_minutes: number
  stamp_cost: number
  /** hold: attachments from addresses that are not contacts are not stored. */
  stranger_attachments: 'hold' | 'allow'
  /** Drop every message from an address that is not a contact. */
  refuse_strangers: boolean
  /** A message that ran out of attempts goes through the chosen propagation node instead of failing. */
  propagate_on_failure: boolean
  /** Messages one source may deliver per minute (all together: ten times it). */
  inbound_per_minute: number
  /** Sync with the propagation node every this many minutes; 0: only when asked. */
  sync_interval_minutes: number
  /** Act as a propagation node for others, storing at most propagation_storage_mb. */
  propagation_hosting: boolean
  propagation_storage_mb: number
  /** Forward packets, announces and path requests for other nodes. */
  transport: boolean
  /** Largest message with attachments accepted over a link, in MB. */
  max_message_mb: number
}
/** An identity the node keeps, each with its own conversations, contacts and settings. */
export interface IdentityEntry {
  address: string
  name: string
  active: boolean
  home: boolean
  created_at: string
}

export interface NodeSettingsView extends NodeSettings {
  /** The startup values (flags, environment or built-in) a reset goes back to. */
  defaults: NodeSettings
}

/** One row of the conversation list: the peer, its newest message and how many are unread. */
export interface Conversation {
  peer: string
  display_name: string
  announced_name?: string
  contact?: boolean
  favourite?: boolean
  unread: number
  updated_at: string
  last: { id: string; direction: 'in' | 'out'; preview: string; timestamp: string; state: MessageState | string }
}

export type SendMethod = 'automatic' | 'opportunistic' | 'direct' | 'propagated'
export type MessageState = 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'received'

/** One attachment of a message; url downloads it (add ?inline=1 for an allow-listed image). */
export interface Attachment {
  index: number
  kind: 'file' | 'image' | 'audio' | string
  name: string
  size: number
  mime: string
  codec?: string
  url: string
}

/** An LXMF field this app does not show, kept as it arrived. */
export interface RawField {
  key: string
  type: string
  size: number
}

/** A stored message, inbound or outbound. */
export interface Message {
  id: string
  direction: 'in' | 'out' | string
  peer: string
  title: string
  content: string
  content_truncated?: boolean
  content_size?: number
  preview?: string
  /** The sender's LXMF timestamp. */
  timestamp: string
  state: MessageState | string
  method: string
  attempts: number
  error?: string
  /** Inbound: the signature was checked against the sender's announced identity. */
  verified: boolean
  created_at: string
  read?: boolean
  renderer?: string
  attachments?: Attachment[]
  attachment_count?: number
  reply_to?: string | null
  reply_quote?: string
  reaction?: { to: string; emoji: string }
  reactions?: { emoji: string; from: string }[]
  raw_fields?: RawField[]
  /** Attachments whose bytes were not stored (the sender is not a contact). */
  held_attachments?: { kind: string; name: string; size: number; reason: string }[]
}

/** A contact: the owner's name for an address (wins over the announced one), notes and a star. */
export interface Contact {
  address: string
  name: string
  announced_name: string
  display_name: string
  notes: string
  favourite: boolean
  last_seen: string | null
  created_at: string
  updated_at: string
}
export interface ContactPatch {
  name?: string
  notes?: string
  favourite?: boolean
}

/** One page of a thread, oldest first. */
export interface MessagePage {
  items: Message[]
  has_more_before: boolean
  has_more_after: boolean
}

export interface SendRequest {
  to: string
  content: string
  title?: string
  method?: SendMethod | 'automatic'
  attachments?: { name: string; mime?: string; data: string }[]
  image?: { mime: string; data: string }
  reply_to?: string
  reply_quote?: string
  reaction?: { to: string; emoji: string }
  /** LXMF renderer field; the UI marks what it composes as Markdown, as MeshChatX does. */
  renderer?: 'plain' | 'markdown' | 'micron' | 'bbcode'
}

/** A propagation node learned from an lxmf.propagation announce. */
export interface PropagationNode {
  address: string
  name: string
  enabled: boolean
  stamp_cost: number
  transfer_limit_kb: number
  hops: number
  last_seen: string
}

export type SyncState = 'idle' | 'path_requested' | 'linking' | 'requesting' | 'receiving' | 'done' | 'failed'

/** Page is one page of a paged list (every list route answers one). */
export interface Page<T> {
  items: T[]
}

/** The current or last download of waiting messages from the chosen propagation node. */
export interface SyncStatus {
  state: SyncState | string
  node?: string
  progress: number
  received: number
  failed: number
  remaining: number
  error?: string
  started_at?: string
  finished_at?: string
}

/** Propagation state: the chosen node, the known nodes, the sync, and the node hosted here (if any). */
export interface Propagation {
  node: string
  /** The node was chosen automatically (nearest, then most recently heard), not pinned. */
  auto: boolean
  known_nodes: PropagationNode[] | null
  sync: SyncStatus
  server?: {
    address: string
    stamp_cost: number
    storage_limit: number
    stored: number
    stored_bytes: number
  }
}

export interface LoginAttempt {
  time: string
  ip: string
  user_agent: string
  path: string
  outcome: string
}

/** ApiError is what every failed call throws. status 0 means no response. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  /** Seconds from the Retry-After header, when the server sent one. */
  readonly retryAfter: number | null

  constructor(status: number, code: string, message: string, retryAfter: number | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

interface RequestOptions {
  body?: unknown
  /** Do not treat a 401 as "session gone" (login, setup, status, logout). */
  publicCall?: boolean
}

let csrfToken = ''
let unauthorizedHandler: (() => void) | null = null

/** setCSRFToken stores the token sent with every state-changing request. */
export function setCSRFToken(token: string): void {
  csrfToken = token
}

/** csrf returns the current CSRF token (for calls that are not JSON, e.g. a package upload). */
export function csrf(): string {
  return csrfToken
}

/** onUnauthorized sets what happens when a call that needs a session gets 401. */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler
}

function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null
  const secs = Number.parseInt(value.trim(), 10)
  if (Number.isFinite(secs) && secs >= 0 && String(secs) === value.trim()) return secs
  const when = Date.parse(value)
  if (Number.isNaN(when)) return null
  return Math.max(0, Math.ceil((when - Date.now()) / 1000))
}

async function toError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`
  let message = res.statusText || `Request failed (${res.status})`
  try {
    const body: unknown = await res.json()
    if (typeof body === 'object' && body !== null && 'error' in body) {
      const err = (body as { error?: { code?: unknown; message?: unknown } }).error
      if (typeof err?.code === 'string' && err.code) code = err.code
      if (typeof err?.message === 'string' && err.message) message = err.message
    }
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(res.status, code, message, parseRetryAfter(res.headers.get('Retry-After')))
}

/** request performs one API call and returns its decoded JSON body. */
export async function request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' }
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(opts.body)
  }
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken

  let res: Response
  try {
    res = await fetch(BASE + path, init)
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.')
  }
  if (!res.ok) {
    const err = await toError(res)
    if (res.status === 401 && !opts.publicCall) unauthorizedHandler?.()
    throw err
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  if (!text) return undefined as T
  try {
    return JSON.parse(text) as T
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent an unreadable answer.')
  }
}

const seg = (id: ID): string => encodeURIComponent(String(id))

/** api lists the calls the UI makes, one per endpoint. */
export const api = {
  status: () => request<AuthStatus>('GET', '/auth/status', { publicCall: true }),
  setup: (setupCode: string, password: string) =>
    request<CSRFResponse>('POST', '/auth/setup', {
      body: { setup_code: setupCode, password },
      publicCall: true,
    }),
  login: (password: string) =>
    request<CSRFResponse>('POST', '/auth/login', { body: { password }, publicCall: true }),
  logout: () => request<void>('POST', '/auth/logout', { publicCall: true }),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<void>('POST', '/auth/password', {
      body: { current_password: currentPassword, new_password: newPassword },
    }),

  sessions: () => request<Session[]>('GET', '/auth/sessions'),
  revokeSession: (id: ID) => request<void>('DELETE', `/auth/sessions/${seg(id)}`),

  tokens: () => request<APIToken[]>('GET', '/auth/tokens'),
  createToken: (name: string, scope: TokenScope) =>
    request<CreatedToken>('POST', '/auth/tokens', { body: { name, scope } }),
  revokeToken: (id: ID) => request<void>('DELETE', `/auth/tokens/${seg(id)}`),

  attempts: () => request<LoginAttempt[]>('GET', '/auth/attempts'),
  system: () => request<SystemInfo>('GET', '/system'),

  identity: () => request<Identity>('GET', '/identity'),
  announce: () => request<{ status: string }>('POST', '/announce'),
  /** peers lists the most recently heard LXMF peers (the newest page, at most 500). */
  peers: async () => (await request<Page<Peer>>('GET', '/peers?limit=500')).items,
  /** messages lists the newest page (at most 500) of messages exchanged with peer (all when absent), oldest first. */
  messages: async (peer?: string) =>
    (await request<Page<Message>>('GET', peer ? `/messages?limit=500&peer=${encodeURIComponent(peer)}` : '/messages?limit=500')).items,
  /** thread is one page of a conversation: the newest, or the one before message id `before`. */
  thread: (peer: string, before?: string, limit = 50) =>
    request<MessagePage>(
      'GET',
      `/messages?limit=${limit}&peer=${encodeURIComponent(peer)}${before ? `&before=${encodeURIComponent(before)}` : ''}`,
    ),
  sendMessage: (req: SendRequest) => request<Message>('POST', '/messages', { body: req }),
  retryMessage: (id: string) => request<Message>('POST', `/messages/${seg(id)}/retry`),
  cancelMessage: (id: string) => request<Message>('POST', `/messages/${seg(id)}/cancel`),
  block: (address: string, deleteConversation: boolean) =>
    request<{ identity_hash: string; address: string }>('POST', '/blocks', {
      body: { address, delete_conversation: deleteConversation },
    }),
  unblock: (id: string) => request<void>('DELETE', `/blocks/${seg(id)}`),
  /** isBlocked tells whether the identity behind an address is blocked (by any of its addresses). */
  isBlocked: async (id: string) => (await request<{ blocked: boolean }>('GET', `/blocks/${seg(id)}`)).blocked,
  settings: () => request<NodeSettingsView>('GET', '/settings'),
  identities: async () => (await request<{ items: IdentityEntry[] }>('GET', '/identities')).items,
  /** addIdentity keeps another identity: imported when key (base64 of the 64-byte key file) is given, else new. */
  addIdentity: (password: string, name: string, key?: string) =>
    request<IdentityEntry>('POST', '/identities', { body: key ? { password, name, key } : { password, name } }),
  /** activateIdentity switches to a kept identity; the node restarts on its data. */
  activateIdentity: (address: string, password: string) =>
    request<{ address: string; restarting: boolean }>('POST', `/identities/${seg(address)}/activate`, { body: { password } }),
  updateSettings: (patch: Partial<NodeSettings>) => request<NodeSettingsView>('PATCH', '/settings', { body: patch }),
  /** conversations is one page of the conversation list, newest first; pass next_cursor for the next. */
  conversations: (cursor = '', limit = 100) =>
    request<{ items: Conversation[]; next_cursor: string | null }>(
      'GET',
      `/conversations?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    ),
  contacts: (q = '', cursor = '', limit = 100) =>
    request<{ items: Contact[]; next_cursor: string | null }>(
      'GET',
      `/contacts?limit=${limit}${q ? `&q=${encodeURIComponent(q)}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    ),
  contact: (address: string) => request<Contact>('GET', `/contacts/${seg(address)}`),
  putContact: (address: string, patch: ContactPatch) =>
    request<Contact>('PUT', `/contacts/${seg(address)}`, { body: patch }),
  deleteContact: (address: string) => request<void>('DELETE', `/contacts/${seg(address)}`),
  /** importContacts merges a contacts file (as exported) into the contacts, all or nothing. */
  importContacts: (file: unknown) =>
    request<{ added: number; updated: number; unchanged: number }>('POST', '/contacts/import', { body: file }),
  markRead: (peer: string) => request<void>('POST', `/conversations/${seg(peer)}/read`),

  propagation: () => request<Propagation>('GET', '/propagation'),
  /** setPropagationNode chooses the node; '' clears the choice. */
  setPropagationNode: (address: string) => request<Propagation>('PUT', '/propagation/node', { body: { address } }),
  startSync: () => request<Propagation>('POST', '/propagation/sync'),
  cancelSync: () => request<void>('DELETE', '/propagation/sync'),
}

/**
 * uploadZip POSTs a file as a raw application/zip body with the CSRF header, or a FormData as
 * multipart (the browser sets its boundary), and returns the decoded JSON answer; failures throw
 * ApiError like request does.
 */
export async function uploadZip<T>(path: string, body: File | FormData): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'X-CSRF-Token': csrf() }
  if (!(body instanceof FormData)) headers['Content-Type'] = 'application/zip'
  let res: Response
  try {
    res = await fetch(BASE + path, { method: 'POST', credentials: 'same-origin', headers, body })
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.')
  }
  const answer: unknown = await res.json().catch(() => null)
  if (!res.ok) {
    const err = (answer as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? res.statusText)
  }
  return answer as T
}

/**
 * postForFile POSTs a JSON body and saves the binary answer as a download named filename (for routes
 * whose request carries a secret, so it cannot be a plain link).
 */
export async function postForFile(path: string, body: unknown, filename: string): Promise<void> {
  let res: Response
  try {
    res = await fetch(BASE + path, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.')
  }
  if (!res.ok) throw await toError(res)
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** errorText turns anything thrown into one line for the user. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof Error) return err.message
  return 'Something went wrong.'
}
