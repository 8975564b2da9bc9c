// Typed calls for /api/v1/snapshots and /api/v1/restore (api/openapi.yaml: Snapshot, SnapshotList, PendingRestore).
import { request, uploadZip } from './api'

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
const stageRestore = (file: File): Promise<PendingRestore> => uploadZip<PendingRestore>('/restore', file)

export const backupsApi = {
  list: () => request<SnapshotList>('GET', '/snapshots'),
  create: () => request<Snapshot>('POST', '/snapshots'),
  remove: (name: string) => request<void>('DELETE', `/snapshots/${seg(name)}`),
  stageRestore,
  cancelRestore: () => request<void>('DELETE', '/restore'),
}
