// App-wide auth state: which screen to show (setup, login or the shell) and
// the system information behind the warning banner. Everything else is local
// to the view that shows it.
import { reactive } from 'vue'
import { api, ApiError, errorText, onUnauthorized, setCSRFToken, type SystemInfo } from './api'

export type Phase = 'loading' | 'offline' | 'setup' | 'login' | 'ready'

export const auth = reactive({
  phase: 'loading' as Phase,
  /** Why the status check failed, when phase is 'offline'. */
  error: '',
  system: null as SystemInfo | null,
  systemError: '',
})

let inFlight: Promise<void> | null = null

/** checkStatus asks the server which screen applies; concurrent calls share one request. */
export function checkStatus(): Promise<void> {
  inFlight ??= runStatusCheck().finally(() => {
    inFlight = null
  })
  return inFlight
}

async function runStatusCheck(): Promise<void> {
  try {
    const st = await api.status()
    auth.error = ''
    if (st.setup_required) {
      signedOut('setup')
    } else if (st.authenticated) {
      setCSRFToken(st.csrf_token ?? '')
      auth.phase = 'ready'
      void loadSystem()
    } else {
      signedOut('login')
    }
  } catch (err) {
    auth.error = errorText(err)
    signedOut('offline')
  }
}

function signedOut(phase: Phase): void {
  setCSRFToken('')
  auth.system = null
  auth.systemError = ''
  auth.phase = phase
}

/** signedIn records the CSRF token from login or setup and opens the shell. */
export function signedIn(csrfToken: string): void {
  setCSRFToken(csrfToken)
  auth.phase = 'ready'
  void loadSystem()
}

/** loadSystem (re)loads /system for the banner, the About page and feature flags. */
export async function loadSystem(): Promise<void> {
  try {
    auth.system = await api.system()
    auth.systemError = ''
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return
    auth.systemError = errorText(err)
  }
}

/** logout ends the session on the server, then shows the login screen. */
export async function logout(): Promise<void> {
  try {
    await api.logout()
  } catch {
    // The session may already be gone; the status check decides what to show.
  }
  await checkStatus()
}

onUnauthorized(() => {
  if (auth.phase === 'ready') {
    signedOut('loading')
    void checkStatus()
  }
})

/** Statuses that put a warning banner on every page. */
const bannerIntegrity = new Set(['warning', 'failed'])
const bannerAtRest = new Set(['warning', 'failed', 'changed', 'tampered', 'no-record'])

export interface Warning {
  key: string
  title: string
  message: string
  severity: 'warning' | 'danger'
}

/** warnings lists what the banner must show for the given system information. */
export function warnings(sys: SystemInfo | null): Warning[] {
  if (!sys) return []
  const out: Warning[] = []
  if (bannerIntegrity.has(sys.integrity?.status)) {
    out.push({
      key: 'integrity',
      title: sys.integrity.status === 'failed' ? 'Integrity check failed' : 'Integrity warning',
      message: sys.integrity.message,
      severity: sys.integrity.status === 'failed' ? 'danger' : 'warning',
    })
  }
  if (bannerAtRest.has(sys.at_rest?.status)) {
    out.push({
      key: 'at_rest',
      title:
        sys.at_rest.status === 'changed'
          ? 'Data changed while Reticle was not running'
          : sys.at_rest.status === 'tampered'
            ? 'Identity files differ from the database record'
            : sys.at_rest.status === 'no-record'
              ? 'No at-rest record vouches for the identity files'
              : sys.at_rest.status === 'failed'
            ? 'At-rest check failed'
            : 'At-rest warning',
      message: sys.at_rest.message,
      severity: sys.at_rest.status === 'warning' ? 'warning' : 'danger',
    })
  }
  return out
}
