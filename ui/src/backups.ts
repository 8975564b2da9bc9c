// Typed calls for /api/v1/snapshots and /api/v1/restore (api/openapi.yaml: Snapshot, SnapshotList, PendingRestore).
import { ApiError, csrf, request } from './api'

export interface Snapshot {
  name: string
  size: number
  created_at: string
  reason: 'manual' | 'scheduled' | 'premigrate' | 'prerestore'
  messages: number
  schema_version: number
  problem?: string
}

export interface PendingRestore {
  created_at: string
  reticle_version?: string
  schema_version: number
  messages: number
  restart_required: boolean
}

export interface SnapshotList {
  snapshots: Snapshot[]
  warning?: string
  pending_restore?: PendingRestore
}

const seg = (s: string): string => encodeURIComponent(s)

/** downloadURL is the snapshot's download route (a browser session is required; the cookie goes along). */
export const downloadURL = (name: string): string => `/api/v1/snapshots/${seg(name)}`

/** stageRestore uploads an archive; the server verifies it completely and applies it at the next start. */
async function stageRestore(file: File): Promise<PendingRestore> {
  let res: Response
  try {
    res = await fetch('/api/v1/restore', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/zip', Accept: 'application/json', 'X-CSRF-Token': csrf() },
      body: file,
    })
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.')
  }
  const body: unknown = await res.json().catch(() => null)
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? res.statusText)
  }
  return body as PendingRestore
}

export const backupsApi = {
  list: () => request<SnapshotList>('GET', '/snapshots'),
  create: () => request<Snapshot>('POST', '/snapshots'),
  remove: (name: string) => request<void>('DELETE', `/snapshots/${seg(name)}`),
  stageRestore,
  cancelRestore: () => request<void>('DELETE', '/restore'),
}
