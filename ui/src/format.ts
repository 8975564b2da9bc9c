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

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const steps: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
]

/** formatAgo shows how long ago an API timestamp was ("5 minutes ago"), or `empty` when absent. */
export function formatAgo(value: string | null | undefined, now = Date.now(), empty = '—'): string {
  if (!value) return empty
  const t = Date.parse(value)
  if (Number.isNaN(t) || t <= 0) return empty
  let diff = Math.round((t - now) / 1000)
  if (Math.abs(diff) < 10) return 'just now'
  for (const [unit, size] of steps) {
    if (Math.abs(diff) < size) return relative.format(diff, unit)
    diff = Math.round(diff / size)
  }
  return formatTime(value, empty)
}
