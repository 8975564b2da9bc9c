// The conversation list: conversations (from /conversations, newest first) followed by announced
// peers nobody has written with yet (most recently heard first).
import type { Conversation, Peer } from './api'

/** A row of the list: a conversation, an announced peer, or both. */
export interface Contact {
  address: string
  display_name: string
  last_seen: string | null
  hops: number | null
  /** Time of the newest message with this contact, if any. */
  last_message: string | null
  /** The newest message's preview and direction, and its delivery state when it is ours. */
  preview: string
  last_direction: 'in' | 'out' | ''
  last_state: string
  unread: number
}

const time = (v: string | null): number => {
  const t = v ? Date.parse(v) : NaN
  return Number.isNaN(t) ? 0 : t
}

/**
 * mergeContacts lists conversations first, in the server's order (newest activity first), each with
 * what its peer's announce says, then the announced peers without a conversation, most recently heard
 * first.
 */
export function mergeContacts(peers: Peer[], conversations: Conversation[]): Contact[] {
  const heard = new Map<string, Peer>()
  for (const p of peers) heard.set(p.address.toLowerCase(), p)
  const out: Contact[] = []
  const seen = new Set<string>()
  for (const c of conversations) {
    const address = c.peer.toLowerCase()
    if (seen.has(address)) continue
    seen.add(address)
    const p = heard.get(address)
    out.push({
      address,
      display_name: c.display_name || p?.display_name || '',
      last_seen: p?.last_seen || null,
      hops: p && Number.isFinite(p.hops) ? p.hops : null,
      last_message: c.last?.timestamp || c.updated_at || null,
      preview: c.last?.preview ?? '',
      last_direction: c.last?.direction ?? '',
      last_state: c.last?.direction === 'out' ? (c.last.state ?? '') : '',
      unread: c.unread > 0 ? c.unread : 0,
    })
  }
  const rest = [...heard.entries()]
    .filter(([address]) => !seen.has(address))
    .sort(([a, pa], [b, pb]) => time(pb.last_seen) - time(pa.last_seen) || a.localeCompare(b))
  for (const [address, p] of rest) {
    out.push({
      address,
      display_name: p.display_name,
      last_seen: p.last_seen || null,
      hops: Number.isFinite(p.hops) ? p.hops : null,
      last_message: null,
      preview: '',
      last_direction: '',
      last_state: '',
      unread: 0,
    })
  }
  return out
}
