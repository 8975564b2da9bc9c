// The one live-events store: a websocket to /api/v1/ws that replaces polling.
//
// The server sends {"kind":"hello"} once its subscription is in place; every
// hello (the first and each after a reconnect) tells listeners to reload what
// they show, so nothing is stale after a drop. Reconnects back off
// exponentially (1 s doubling to 30 s, with jitter) and start again from 1 s
// after a hello. Unread counts are kept per peer from message.received
// events and feed the nav badge and the document title.
import { computed, onBeforeUnmount, reactive, watch } from 'vue'
import type { Message, Peer } from './api'
import { shortAddress } from './address'

/** One event as the server sends it (api/openapi.yaml: Event). Unknown kinds are ignored. */
export interface LiveEvent {
  kind: string
  message_id?: string
  peer?: string
  state?: string
  message?: Message
  peer_info?: Peer
  /** interface events: the configured interface and, for a sub-interface, its name. */
  interface?: string
  sub?: string
  /** nomadnet.progress: the node (32 hex) and path of the page or file arriving. */
  node?: string
  path?: string
  /** message.progress and nomadnet.progress: bytes so far and in all. */
  bytes_done?: number
  bytes_total?: number
}

/** Kind of the first frame on every connection. */
export const HELLO = 'hello'

const MIN_BACKOFF_MS = 1000
const MAX_BACKOFF_MS = 30_000
const BASE_TITLE = 'Reticle'

type Listener = (ev: LiveEvent) => void

/** live is the reactive state the UI shows: connection and unread counts. */
export const live = reactive({
  connected: false,
  /** Bumped on every hello: the moment to reload state. */
  generation: 0,
  /** Unread inbound messages per peer address. */
  unread: {} as Record<string, number>,
  /** The conversation on screen; its messages are read as they arrive while the page is visible. */
  viewing: '',
  notifications: typeof Notification !== 'undefined' && Notification.permission === 'granted',
})

/** totalUnread is the sum over all peers (nav badge, document title). */
export const totalUnread = computed(() => Object.values(live.unread).reduce((a, b) => a + b, 0))

const listeners = new Set<Listener>()
let socket: WebSocket | null = null
let wanted = false
let backoff = MIN_BACKOFF_MS
let retry: ReturnType<typeof setTimeout> | undefined

function url(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/api/v1/ws`
}

function open(): void {
  retry = undefined
  if (!wanted || socket) return
  const ws = new WebSocket(url())
  socket = ws
  ws.addEventListener('message', (e: MessageEvent) => {
    if (typeof e.data !== 'string') return
    let ev: LiveEvent
    try {
      ev = JSON.parse(e.data) as LiveEvent
    } catch {
      return
    }
    if (!ev || typeof ev.kind !== 'string') return
    if (ev.kind === HELLO) {
      live.connected = true
      live.generation++
      backoff = MIN_BACKOFF_MS
    }
    if (ev.kind === 'message.received') countUnread(ev)
    for (const l of [...listeners]) {
      try {
        l(ev)
      } catch {
        // One broken listener must not stop the others.
      }
    }
  })
  ws.addEventListener('close', () => {
    if (socket === ws) socket = null
    live.connected = false
    if (!wanted) return
    const wait = backoff + Math.floor(Math.random() * (backoff / 2))
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    retry = setTimeout(open, wait)
  })
}

/** startLive opens the socket (idempotent); it keeps reconnecting until stopLive. */
export function startLive(): void {
  wanted = true
  if (!socket && retry === undefined) open()
}

/** stopLive closes the socket and stops reconnecting (logout). */
export function stopLive(): void {
  wanted = false
  if (retry !== undefined) clearTimeout(retry)
  retry = undefined
  socket?.close(1000)
  socket = null
  live.connected = false
  live.unread = {}
}

/**
 * useLive calls fn for every event (hello included) while the calling
 * component is mounted.
 */
export function useLive(fn: Listener): void {
  listeners.add(fn)
  onBeforeUnmount(() => listeners.delete(fn))
}

function visible(): boolean {
  return document.visibilityState === 'visible'
}

function countUnread(ev: LiveEvent): void {
  const peer = ev.peer ?? ev.message?.peer ?? ''
  if (!peer || ev.message?.direction === 'out') return
  if (peer === live.viewing && visible()) return
  live.unread = { ...live.unread, [peer]: (live.unread[peer] ?? 0) + 1 }
  notify(peer)
}

/** markRead clears the unread count of one peer. */
export function markRead(peer: string): void {
  if (!(peer in live.unread)) return
  const next = { ...live.unread }
  delete next[peer]
  live.unread = next
}

/** enableNotifications asks for permission; call it only from a click. */
export async function enableNotifications(): Promise<void> {
  if (typeof Notification === 'undefined') return
  const p = await Notification.requestPermission()
  live.notifications = p === 'granted'
}

// The notification names the sender's short address only, never the content.
function notify(peer: string): void {
  if (!live.notifications || visible() || typeof Notification === 'undefined') return
  try {
    new Notification('New Reticle message', { body: `From ${shortAddress(peer)}`, tag: peer })
  } catch {
    // Some browsers allow notifications only from a service worker.
  }
}

watch(totalUnread, (n) => {
  document.title = n > 0 ? `(${n}) ${BASE_TITLE}` : BASE_TITLE
})

if (typeof document !== 'undefined') {
  document.addEventListener('visibilitychange', () => {
    if (visible() && live.viewing) markRead(live.viewing)
  })
}
