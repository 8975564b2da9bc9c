// The conversation list: announced peers merged with everyone messages were
// exchanged with, most recent activity first.
import type { Message, Peer } from './api'

/** A conversation partner: an announced peer, someone messages were exchanged with, or both. */
export interface Contact {
  address: string
  display_name: string
  last_seen: string | null
  hops: number | null
  /** Time of the newest message with this contact, if any. */
  last_message: string | null
  messages: number
}

const time = (v: string | null): number => {
  const t = v ? Date.parse(v) : NaN
  return Number.isNaN(t) ? 0 : t
}

/** mergeContacts combines peers and messages (any order) into one list, newest activity first. */
export function mergeContacts(peers: Peer[], messages: Message[]): Contact[] {
  const byAddr = new Map<string, Contact>()
  for (const p of peers) {
    const address = p.address.toLowerCase()
    byAddr.set(address, {
      address,
      display_name: p.display_name,
      last_seen: p.last_seen || null,
      hops: Number.isFinite(p.hops) ? p.hops : null,
      last_message: null,
      messages: 0,
    })
  }
  for (const m of messages) {
    const address = m.peer.toLowerCase()
    let c = byAddr.get(address)
    if (!c) {
      c = { address, display_name: '', last_seen: null, hops: null, last_message: null, messages: 0 }
      byAddr.set(address, c)
    }
    c.messages++
    const at = m.created_at || m.timestamp
    if (time(at) > time(c.last_message)) c.last_message = at
  }
  const activity = (c: Contact): number => Math.max(time(c.last_seen), time(c.last_message))
  return [...byAddr.values()].sort((a, b) => activity(b) - activity(a) || a.address.localeCompare(b.address))
}
