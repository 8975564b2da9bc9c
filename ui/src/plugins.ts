// Typed calls for /api/v1/plugins (api/openapi.yaml: Plugin, PluginAudit, PluginPublisher).
import { request, uploadZip } from './api'

export type Capability = 'messages.read' | 'messages.send' | 'pages.serve' | 'log' | 'kv' | 'clock' | 'random'

export const capabilityText: Record<string, string> = {
  'messages.read': 'read every inbound message',
  'messages.send': 'send messages as this node (rate-limited)',
  'pages.serve': 'answer NomadNet page requests below its page prefix',
  log: 'write to its log',
  kv: 'keep data in its own store (with a quota)',
  clock: 'read the real clock',
  random: 'read real randomness',
}

export interface PluginStats {
  calls: number
  failures: number
  consecutive_failures: number
  total_time_ms: number
  instances_started: number
  last_error?: string
}

export interface Plugin {
  id: string
  version: string
  manifest: { name?: string; description?: string; entry_points: string[]; page_prefix?: string; limits: Record<string, number> }
  wasm_sha256: string
  wasm_bytes: number
  publisher_key_id: string
  publisher_name?: string
  enabled: boolean
  running: boolean
  disabled_reason?: string
  requested_capabilities: Capability[]
  granted_capabilities: Capability[]
  installed_at: string
  stats: PluginStats
}

export interface PluginAudit {
  id: number
  plugin_id: string
  event: string
  detail: string
  at: string
}

export interface PluginLogs {
  lines: { at: string; level: string; message: string }[]
  audit: PluginAudit[]
}

export interface Publisher {
  id: string
  name: string
  /** ed25519 (public_key, base64) or cosign (public_key_pem, ECDSA P-256). */
  kind: 'ed25519' | 'cosign'
  public_key?: string
  public_key_pem?: string
  added_at: number
}

const seg = (s: string): string => encodeURIComponent(s)

const install = (file: File): Promise<Plugin> => uploadZip<Plugin>('/plugins', file)

export const pluginsApi = {
  list: () => request<Plugin[]>('GET', '/plugins'),
  install,
  grants: (id: string, capabilities: string[]) => request<Plugin>('PUT', `/plugins/${seg(id)}/grants`, { body: { capabilities } }),
  enabled: (id: string, enabled: boolean) => request<Plugin>('PUT', `/plugins/${seg(id)}/enabled`, { body: { enabled } }),
  remove: (id: string) => request<void>('DELETE', `/plugins/${seg(id)}`),
  logs: (id: string) => request<PluginLogs>('GET', `/plugins/${seg(id)}/logs?limit=50`),
  audit: () => request<PluginAudit[]>('GET', '/plugins/audit?limit=50'),
  publishers: () => request<Publisher[]>('GET', '/plugins/publishers'),
  // A PEM block is a cosign public key (cosign.pub); anything else the base64 of an ed25519 key.
  trust: (name: string, publicKey: string) =>
    request<Publisher>('POST', '/plugins/publishers', {
      body: publicKey.startsWith('-----BEGIN') ? { name, public_key_pem: publicKey } : { name, public_key: publicKey },
    }),
  untrust: (id: string) => request<void>('DELETE', `/plugins/publishers/${seg(id)}`),
}
