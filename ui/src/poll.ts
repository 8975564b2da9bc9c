// Polling that runs only while it is useful: the component is mounted, the
// page is visible (document.visibilityState) and the caller's condition holds.
// Calls never overlap; the next one starts intervalMs after the last finished.
import { onBeforeUnmount, watch, type WatchSource } from 'vue'

export interface Poller {
  /** refresh runs the task now (or right after the running one) and restarts the interval. */
  refresh: () => void
}

/**
 * usePoll runs task every intervalMs (a number, or a function read before
 * each wait) while active is true and the page is visible, starting at once
 * whenever it becomes active or visible again. The timer and the listener end
 * when the calling component unmounts.
 */
export function usePoll(
  task: () => Promise<void>,
  intervalMs: number | (() => number),
  active: WatchSource<boolean>,
): Poller {
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let again = false
  let stopped = false
  let enabled = false

  const visible = (): boolean => document.visibilityState === 'visible'
  const live = (): boolean => !stopped && enabled && visible()

  function clear(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  function schedule(): void {
    clear()
    if (live()) timer = setTimeout(run, typeof intervalMs === 'function' ? intervalMs() : intervalMs)
  }

  async function run(): Promise<void> {
    timer = undefined
    if (!live()) return
    if (running) {
      again = true
      return
    }
    running = true
    try {
      await task()
    } catch {
      // The task reports its own errors; polling goes on.
    } finally {
      running = false
    }
    if (again) {
      again = false
      void run()
    } else {
      schedule()
    }
  }

  function refresh(): void {
    clear()
    void run()
  }

  function onVisibility(): void {
    if (visible()) refresh()
    else clear()
  }

  document.addEventListener('visibilitychange', onVisibility)
  watch(
    active,
    (on) => {
      enabled = on
      if (on) refresh()
      else clear()
    },
    { immediate: true },
  )
  onBeforeUnmount(() => {
    stopped = true
    clear()
    document.removeEventListener('visibilitychange', onVisibility)
  })

  return { refresh }
}
