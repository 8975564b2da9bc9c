// Typed calls for /api/v1/snapshots and /api/v1/restore (api/openapi.yaml: Snapshot, SnapshotList, PendingRestore).
import { postForFile, request, uploadZip } from './api'

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

/**
 * stageRestore uploads an archive; the server opens it with the passphrase when it is sealed, verifies
 * it completely and applies it at the next start. The passphrase goes in the multipart body.
 */
function stageRestore(file: File, passphrase = ''): Promise<PendingRestore> {
  if (!passphrase) return uploadZip<PendingRestore>('/restore', file)
  const form = new FormData()
  form.append('passphrase', passphrase) // before the archive: the server reads the parts in order
  form.append('archive', file, file.name)
  return uploadZip<PendingRestore>('/restore', form)
}

/** MIN_PASSPHRASE matches the server's shortest passphrase for sealing. */
export const MIN_PASSPHRASE = 10

/** downloadSealed saves snapshot name encrypted with passphrase (age format) as NAME.age. */
const downloadSealed = (name: string, passphrase: string): Promise<void> =>
  postForFile(`/snapshots/${seg(name)}/sealed`, { passphrase }, `${name}.age`)

export const backupsApi = {
  list: () => request<SnapshotList>('GET', '/snapshots'),
  create: () => request<Snapshot>('POST', '/snapshots'),
  remove: (name: string) => request<void>('DELETE', `/snapshots/${seg(name)}`),
  stageRestore,
  downloadSealed,
  cancelRestore: () => request<void>('DELETE', '/restore'),
}
