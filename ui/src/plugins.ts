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
  public_key: string
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
  trust: (name: string, publicKey: string) => request<Publisher>('POST', '/plugins/publishers', { body: { name, public_key: publicKey } }),
  untrust: (id: string) => request<void>('DELETE', `/plugins/publishers/${seg(id)}`),
}
