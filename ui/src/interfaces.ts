// Typed calls for /api/v1/interfaces and /api/v1/paths (api/openapi.yaml: Interface, InterfaceRequest, Path).
import { request } from './api'

export type InterfaceState = 'up' | 'down' | 'connecting'

/** A mesh interface with live state; secrets in uri are masked as xxxxx. */
export interface MeshInterface {
  id: string
  name: string
  uri: string
  kind: string
  state: InterfaceState | string
  peer: string
  last_error: string
  ifac: boolean
  bytes_in: number
  bytes_out: number
  packets_in: number
  packets_out: number
  rate_in: number
  rate_out: number
  clients: number
  since?: string
  source: 'flag' | 'stored' | string
  enabled: boolean
}

/** Creates or changes a stored interface; omitted fields stay. */
export interface InterfaceRequest {
  uri?: string
  name?: string
  enabled?: boolean
  network_name?: string
  passphrase?: string
}

export interface MeshPath {
  destination: string
  next_hop: string
  hops: number
  interface: string
  updated: string
  expires: string
}

const seg = (s: string): string => encodeURIComponent(s)

export const meshApi = {
  list: () => request<MeshInterface[]>('GET', '/interfaces'),
  create: (body: InterfaceRequest) => request<MeshInterface>('POST', '/interfaces', { body }),
  update: (id: string, body: InterfaceRequest) => request<MeshInterface>('PATCH', `/interfaces/${seg(id)}`, { body }),
  remove: (id: string) => request<void>('DELETE', `/interfaces/${seg(id)}`),
  paths: async () => (await request<{ items: MeshPath[] }>('GET', '/paths?limit=500')).items,
  /** pathsPage is one page of known paths (fewest hops first) and whether more exist. */
  pathsPage: async () => {
    const p = await request<{ items: MeshPath[]; next_cursor: string | null }>('GET', '/paths?limit=500')
    return { items: p.items, more: !!p.next_cursor }
  },
  requestPath: (dest: string) => request<void>('POST', `/paths/${seg(dest)}`),
  dropPath: (dest: string) => request<void>('DELETE', `/paths/${seg(dest)}`),
}

/** uriFor builds an --interface URI from the small form's choices. */
export function uriFor(kind: 'tcp-client' | 'tcp-server' | 'auto', host: string, port: string): string {
  switch (kind) {
    case 'tcp-client':
      return `tcp-client://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
    case 'tcp-server':
      return `tcp-server://0.0.0.0:${port}`
    default:
      return 'auto://'
  }
}

/** rate formats bytes per second. */
export function rate(bps: number): string {
  if (bps >= 1 << 20) return `${(bps / (1 << 20)).toFixed(1)} MiB/s`
  if (bps >= 1024) return `${(bps / 1024).toFixed(1)} KiB/s`
  return `${Math.round(bps)} B/s`
}

/** bytes formats a byte count. */
export function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${n} B`
}
