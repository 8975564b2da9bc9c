// Recent log records of the node (GET /api/v1/debug/logs): newest first, secrets redacted by the server.
import { request } from './api'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** LogRecord follows api/openapi.yaml: LogRecord. */
export interface LogRecord {
  seq: number
  time: string
  level: string
  msg: string
  attrs?: Record<string, string>
}

export async function recentLogs(level: LogLevel, limit = 200): Promise<LogRecord[]> {
  const q = new URLSearchParams({ level, limit: String(limit) })
  return (await request<{ items: LogRecord[] }>('GET', `/debug/logs?${q}`)).items
}
