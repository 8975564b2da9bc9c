// Small display helpers shared by the views.

const short = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const precise = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** formatTime shows an API timestamp in the user's locale, or `empty` when absent. */
export function formatTime(value: string | null | undefined, empty = '—'): string {
  return format(short, value, empty)
}

/** formatTimePrecise is formatTime with seconds, for logs. */
export function formatTimePrecise(value: string | null | undefined, empty = '—'): string {
  return format(precise, value, empty)
}

function format(f: Intl.DateTimeFormat, value: string | null | undefined, empty: string): string {
  if (!value) return empty
  const t = Date.parse(value)
  return Number.isNaN(t) ? value : f.format(t)
}
