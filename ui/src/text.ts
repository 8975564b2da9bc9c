// Text from peers: bidi override neutralising and Markdown parsing into tokens
// that MessageText.vue turns into DOM nodes (never into an HTML string).
import MarkdownIt from 'markdown-it'

// Embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069): a
// peer could use them to make a name or an address read backwards.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g

/** neutraliseBidi replaces bidi control characters with U+FFFD, so they show instead of acting. */
export function neutraliseBidi(s: string): string {
  return s.replace(BIDI_CONTROLS, '\uFFFD')
}

/** md parses CommonMark with raw HTML off; links get their own safety check in the renderer. */
export const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true })

/** safeHref returns an http(s) or mailto link, or '' for anything else (javascript:, data:, relative). */
export function safeHref(href: string): string {
  try {
    const u = new URL(href)
    return u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'mailto:' ? u.toString() : ''
  } catch {
    return ''
  }
}
