#!/usr/bin/env node
// Development aid: a throwaway stand-in for the Reticle server, so the UI can
// be developed and smoke-tested without Go. It serves ui/dist with SPA
// fallback and the production CSP on every response, and fakes the JSON API
// the UI uses (in memory, one owner).
//
//   node tests/mock-server.mjs [--port 8000] [--setup-code CODE] [--password PW]
//                              [--messaging] [--integrity STATUS] [--at-rest STATUS]
//
// --password skips setup (the instance starts with that owner password).
// --messaging turns on the messaging and propagation API: an own identity, two
// announced peers, messages whose state advances with time (to the peer
// a1b2c3d4e5f60718293a4b5c6d7e8f90 up to delivered; to anyone else they stay
// sending), and one propagation node whose sync delivers one message.
// Listens on 127.0.0.1 only. Not used in production; the Go server is the real thing.
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8000' },
    'setup-code': { type: 'string', default: 'MOCK-SETUP-CODE' },
    password: { type: 'string' },
    messaging: { type: 'boolean', default: false },
    integrity: { type: 'string', default: 'unsigned-dev' },
    'at-rest': { type: 'string', default: 'ok' },
    dist: { type: 'string' },
  },
})

const DIST = resolve(opt.dist ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', 'dist'))
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
  "frame-ancestors 'none'; form-action 'self'"
const COOKIE = 'reticle_session'
const MAX_FAILS = 5
const LOCK_SECONDS = 30
const MAX_BODY = 512 * 1024
const MAX_CONTENT = 64 * 1024
const OPPORTUNISTIC_MAX = 287
/** Messages to this peer walk queued -> sending -> sent -> delivered; to anyone else they stay sending. */
const MOCK_PEER = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
const HEX32 = /^[0-9a-f]{32}$/
const MOCK_PROP_NODE = 'bada55bada55bada55bada55bada5500'

const now = () => new Date().toISOString()
const rid = (n = 16) => randomBytes(n).toString('hex')
const ago = (ms) => new Date(Date.now() - ms).toISOString()

const state = {
  setupCode: opt['setup-code'],
  password: opt.password ?? null,
  /** @type {Map<string, {id: string, csrf: string, created_at: string, last_seen_at: string, ip: string, user_agent: string}>} */
  sessions: new Map(),
  /** @type {{id: string, name: string, scope: string, created_at: string, last_used_at: string|null}[]} */
  tokens: [],
  /** @type {{time: string, ip: string, user_agent: string, path: string, outcome: string}[]} */
  attempts: [],
  fails: 0,
  lockedUntil: 0,
  /** Own LXMF identity. */
  identity: { address: rid(16), display_name: 'Mock Node' },
  /** @type {{address: string, display_name: string, last_seen: string, hops: number, stamp_cost: number}[]} */
  peers: [
    { address: MOCK_PEER, display_name: 'Mock Peer', last_seen: ago(90_000), hops: 2, stamp_cost: 0 },
    { address: 'c0ffee00c0ffee00c0ffee00c0ffee00', display_name: 'Quiet Peer', last_seen: ago(7_200_000), hops: 4, stamp_cost: 0 },
  ],
  propagation: {
    node: '',
    known_nodes: [
      {
        address: MOCK_PROP_NODE, name: 'Mock Propagation Node', enabled: true, stamp_cost: 0,
        transfer_limit_kb: 256, hops: 1, last_seen: ago(300_000),
      },
    ],
    /** @type {{state: string, progress: number, received: number, failed: number, remaining: number,
     *          started_at?: string, finished_at?: string, node?: string, error?: string}} */
    sync: { state: 'idle', progress: 0, received: 0, failed: 0, remaining: 0 },
    /** @type {number|null} */
    syncStarted: null,
  },
  /** @type {Array<Record<string, unknown> & {sentAt?: number}>} */
  messages: [
    {
      id: rid(32), direction: 'in', peer: MOCK_PEER, title: '', content: 'Hello from the mock mesh',
      timestamp: ago(60_000), state: 'received', method: 'opportunistic',
      attempts: 0, verified: true, created_at: ago(60_000),
    },
  ],
}

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}


function baseHeaders(res) {
  res.setHeader('Content-Security-Policy', CSP)
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Referrer-Policy', 'no-referrer')
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

const fail = (res, status, code, message, headers) => json(res, status, { error: { code, message } }, headers)

function cookies(req) {
  const out = {}
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim()
  }
  return out
}

function sameString(a, b) {
  const x = Buffer.from(String(a))
  const y = Buffer.from(String(b))
  return x.length === y.length && timingSafeEqual(x, y)
}

async function readJSON(req) {
  let size = 0
  const chunks = []
  for await (const c of req) {
    size += c.length
    if (size > MAX_BODY) throw new Error('body too large')
    chunks.push(c)
  }
  if (!size) return {}
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

function newSession(req, res) {
  const id = rid()
  const s = {
    id,
    csrf: rid(),
    created_at: now(),
    last_seen_at: now(),
    ip: req.socket.remoteAddress ?? '',
    user_agent: req.headers['user-agent'] ?? '',
  }
  state.sessions.set(id, s)
  res.setHeader('Set-Cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`)
  return s
}

function logAttempt(req, path, outcome) {
  state.attempts.unshift({
    time: now(),
    ip: req.socket.remoteAddress ?? '',
    user_agent: req.headers['user-agent'] ?? '',
    path,
    outcome,
  })
}

function system() {
  const messages = {
    integrity: {
      verified: 'Signature and hashes verified.',
      'unsigned-dev': 'Unsigned development build.',
      warning: 'manifest.json is missing; running unverified (mode warn).',
      failed: 'Binary hash does not match the signed manifest.',
    },
    at_rest: {
      ok: 'Identities and database match the last clean shutdown.',
      changed: 'reticle.db changed while Reticle was not running.',
      unclean: 'The last shutdown was not clean.',
      'first-run': 'No earlier state recorded.',
    },
  }
  return {
    version: '0.0.0-mock',
    commit: 'mock',
    date: '2026-01-01T00:00:00Z',
    integrity: { status: opt.integrity, message: messages.integrity[opt.integrity] ?? '' },
    at_rest: { status: opt['at-rest'], message: messages.at_rest[opt['at-rest']] ?? '' },
    features: { messaging: opt.messaging, propagation: opt.messaging },
  }
}


// NomadNet: two nodes with pages parsed by pkg/nomadnet/micron (tests/fixtures/nomadnet-pages.json), a
// search page that echoes the fields it was sent, a missing page (404) and a node with no path (502).
const NOMAD_PAGES = JSON.parse(readFileSync(new URL('./fixtures/nomadnet-pages.json', import.meta.url), 'utf8'))
const NOMAD_NODES = [
  { address: 'a8d24177d946de4f1f0a0fe1af9a1338', name: 'Harbour Market', hops: 2, last_heard: new Date(Date.now() - 300_000).toISOString() },
  { address: '5f1c0e7d2b9a4c3e8f6a1b2c3d4e5f60', name: 'Default node', hops: 1, last_heard: new Date(Date.now() - 60_000).toISOString() },
  { address: '0badc0de0badc0de0badc0de0badc0de', name: 'Far away node', hops: 9, last_heard: new Date(Date.now() - 86_400_000).toISOString() },
]

async function nomadnetAPI(req, res, route) {
  if (route.startsWith('GET /api/v1/nomadnet/nodes')) {
    const q = (new URL(req.url ?? '/', 'http://localhost').searchParams.get('q') ?? '').toLowerCase()
    const items = NOMAD_NODES.filter((n) => !q || n.name.toLowerCase().includes(q) || n.address.includes(q))
    return json(res, 200, { items, next_cursor: null })
  }
  if (route.startsWith('GET /api/v1/nomadnet/file')) {
    res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="prices.csv"' })
    return res.end('item,price\nmackerel,4\n')
  }
  if (route !== 'POST /api/v1/nomadnet/page') return fail(res, 404, 'not_found', 'No such route.')
  const body = await readJSON(req)
  const node = String(body.node ?? '')
  const path = String(body.path ?? '')
  if (!/^[0-9a-f]{32}$/.test(node) || !path.startsWith('/')) return fail(res, 400, 'bad_request', 'Bad node or path.')
  if (node === '0badc0de0badc0de0badc0de0badc0de') return fail(res, 502, 'no_path', 'No path to the node.')
  const done = (content, doc) =>
    json(res, 200, { node, path, content, size: content.length, cached: false, fetched_at: new Date().toISOString(), doc })
  if (path === '/page/search.mu') {
    const fields = body.fields ?? {}
    const shown = Object.keys(fields).sort().map((k) => `${k} = ${fields[k]}`)
    const line = (text, extra = {}) => ({ kind: 'text', depth: 1, align: 'left', spans: [{ text, ...extra }] })
    const doc = {
      header: {},
      lines: [
        { kind: 'heading', level: 1, depth: 1, align: 'left', anchors: ['results'], spans: [{ text: 'Results' }] },
        line('The page was asked for with:'),
        ...shown.map((t) => line(t, { fg: '#00aaff' })),
        { kind: 'text', depth: 1, align: 'left', spans: [{ text: 'Back to the market', underline: true, link: { url: ':/page/index.mu', path: '/page/index.mu', kind: 'page' } }] },
      ],
    }
    return done('>Results', doc)
  }
  const p = NOMAD_PAGES[`${node}:${path}`]
  if (!p) return fail(res, 404, 'not_found', 'The node has no such page.')
  return done(p.content, p.doc)
}

async function api(req, res, path) {
  const method = req.method ?? 'GET'
  const sess = state.sessions.get(cookies(req)[COOKIE] ?? '')
  if (sess) sess.last_seen_at = now()
  const route = `${method} ${path}`

  if (route === 'GET /api/v1/auth/status') {
    const body = { setup_required: state.password === null, authenticated: Boolean(sess) }
    if (sess) body.csrf_token = sess.csrf
    return json(res, 200, body)
  }

  if (route === 'POST /api/v1/auth/setup' || route === 'POST /api/v1/auth/login') {
    const isSetup = path.endsWith('/setup')
    if (Date.now() < state.lockedUntil) {
      logAttempt(req, path, 'rate_limited')
      const secs = Math.ceil((state.lockedUntil - Date.now()) / 1000)
      return fail(res, 429, 'rate_limited', 'Too many failed attempts.', { 'Retry-After': String(secs) })
    }
    const body = await readJSON(req)
    if (isSetup) {
      if (state.password !== null) return fail(res, 409, 'already_set_up', 'Setup is already done.')
      if (typeof body.password !== 'string' || body.password.length < 12) {
        return fail(res, 400, 'weak_password', 'The password needs at least 12 characters.')
      }
      if (!sameString(body.setup_code ?? '', state.setupCode)) {
        state.fails++
        logAttempt(req, path, 'bad_setup_code')
        if (state.fails >= MAX_FAILS) state.lockedUntil = Date.now() + LOCK_SECONDS * 1000
        return fail(res, 401, 'bad_setup_code', 'The setup code is wrong.')
      }
      state.password = body.password
    } else {
      if (state.password === null) return fail(res, 409, 'setup_required', 'Set up Reticle first.')
      if (!sameString(body.password ?? '', state.password)) {
        state.fails++
        logAttempt(req, path, 'bad_password')
        if (state.fails >= MAX_FAILS) state.lockedUntil = Date.now() + LOCK_SECONDS * 1000
        return fail(res, 401, 'bad_password', 'Wrong password.')
      }
    }
    state.fails = 0
    logAttempt(req, path, 'success')
    const s = newSession(req, res)
    return json(res, 200, { csrf_token: s.csrf })
  }

  if (!sess) return fail(res, 401, 'unauthenticated', 'Sign in first.')
  if (method !== 'GET' && method !== 'HEAD' && !sameString(req.headers['x-csrf-token'] ?? '', sess.csrf)) {
    return fail(res, 403, 'csrf', 'Missing or wrong CSRF token.')
  }

  if (route === 'POST /api/v1/auth/logout') {
    state.sessions.delete(sess.id)
    res.setHeader('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
    return json(res, 204)
  }
  if (route === 'GET /api/v1/system') return json(res, 200, system())
  if (path.startsWith('/api/v1/nomadnet/')) return nomadnetAPI(req, res, route)
  if (route === 'GET /api/v1/auth/sessions') {
    return json(
      res,
      200,
      [...state.sessions.values()].map(({ csrf: _csrf, ...s }) => ({ ...s, current: s.id === sess.id })),
    )
  }
  if (method === 'DELETE' && path.startsWith('/api/v1/auth/sessions/')) {
    const id = decodeURIComponent(path.slice('/api/v1/auth/sessions/'.length))
    if (!state.sessions.delete(id)) return fail(res, 404, 'not_found', 'No such session.')
    return json(res, 204)
  }
  if (route === 'GET /api/v1/auth/tokens') return json(res, 200, state.tokens)
  if (route === 'POST /api/v1/auth/tokens') {
    const body = await readJSON(req)
    if (typeof body.name !== 'string' || !body.name.trim()) return fail(res, 400, 'bad_name', 'Name is required.')
    if (body.scope !== 'read' && body.scope !== 'full') return fail(res, 400, 'bad_scope', 'Scope is read or full.')
    const t = { id: rid(8), name: body.name.trim(), scope: body.scope, created_at: now(), last_used_at: null }
    state.tokens.push(t)
    return json(res, 201, { id: t.id, token: `rtl_${rid(24)}` })
  }
  if (method === 'DELETE' && path.startsWith('/api/v1/auth/tokens/')) {
    const id = decodeURIComponent(path.slice('/api/v1/auth/tokens/'.length))
    const i = state.tokens.findIndex((t) => t.id === id)
    if (i < 0) return fail(res, 404, 'not_found', 'No such token.')
    state.tokens.splice(i, 1)
    return json(res, 204)
  }
  if (route === 'POST /api/v1/auth/password') {
    const body = await readJSON(req)
    if (!sameString(body.current_password ?? '', state.password)) {
      return fail(res, 403, 'bad_password', 'The current password is wrong.')
    }
    if (typeof body.new_password !== 'string' || body.new_password.length < 12) {
      return fail(res, 400, 'weak_password', 'The password needs at least 12 characters.')
    }
    state.password = body.new_password
    return json(res, 204)
  }
  if (route === 'GET /api/v1/auth/attempts') return json(res, 200, state.attempts)
  if (opt.messaging && path.startsWith('/api/v1/propagation')) return propagationAPI(req, res, route)
  if (opt.messaging && ['/api/v1/identity', '/api/v1/announce', '/api/v1/peers', '/api/v1/messages', '/api/v1/conversations'].includes(path)) {
    return messagingAPI(req, res, route)
  }
  return fail(res, 404, 'not_found', 'No such endpoint.')
}

/** messageView advances a mock outbound message's state with time, as the router would. */
function messageView(m) {
  const { sentAt, ...v } = m
  if (v.direction === 'out' && sentAt !== undefined) {
    const age = Date.now() - sentAt
    if (v.peer === MOCK_PEER) {
      v.state = age < 1500 ? 'queued' : age < 3000 ? 'sending' : age < 5000 ? 'sent' : 'delivered'
    } else {
      v.state = age < 1500 ? 'queued' : 'sending'
    }
    v.attempts = v.state === 'queued' ? 0 : 1
  }
  return v
}

function parseAddress(s) {
  let a = String(s ?? '').trim()
  if (a.startsWith('<') && a.endsWith('>')) a = a.slice(1, -1)
  a = a.toLowerCase()
  return HEX32.test(a) ? a : null
}

/** messagingAPI fakes /identity, /announce, /peers and /messages as pkg/web/messaging.go answers them. */
async function messagingAPI(req, res, route) {
  if (route === 'GET /api/v1/identity') return json(res, 200, state.identity)
  if (route === 'POST /api/v1/announce') return json(res, 202, { status: 'announced' })
  if (route === 'GET /api/v1/peers') return json(res, 200, { items: state.peers, next_cursor: null })
  if (route === 'GET /api/v1/conversations') {
    const byPeer = new Map()
    for (const m of state.messages.map(messageView)) byPeer.set(m.peer, m)
    const items = [...byPeer.values()].reverse().map((m) => ({
      peer: m.peer, display_name: state.peers.find((p) => p.address === m.peer)?.display_name ?? '', unread: 0,
      updated_at: m.created_at, last: { id: m.id, direction: m.direction, preview: m.content.slice(0, 500), timestamp: m.timestamp, state: m.state },
    }))
    return json(res, 200, { items, next_cursor: '' })
  }
  if (route === 'GET /api/v1/messages') {
    const q = new URL(req.url ?? '/', 'http://localhost').searchParams.get('peer') ?? ''
    let key = ''
    if (q.trim()) {
      key = parseAddress(q)
      if (!key) return fail(res, 400, 'invalid_address', 'invalid address: 32 hex digits expected')
    }
    return json(res, 200, { items: state.messages.filter((m) => !key || m.peer === key).map(messageView), has_more_before: false, has_more_after: false })
  }
  if (route === 'POST /api/v1/messages') {
    const propagated = state.propagation.node !== ''
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return fail(res, 415, 'unsupported_media_type', 'send application/json')
    }
    const body = await readJSON(req)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(res, 400, 'bad_request', 'malformed JSON body or unknown field')
    }
    if (Object.keys(body).some((k) => !['to', 'content', 'title', 'method'].includes(k))) {
      return fail(res, 400, 'bad_request', 'malformed JSON body or unknown field')
    }
    const to = parseAddress(body.to)
    if (!to) return fail(res, 400, 'invalid_address', 'invalid address: 32 hex digits expected')
    let method = String(body.method ?? '').toLowerCase() || 'opportunistic'
    if (!['opportunistic', 'direct', 'propagated'].includes(method)) {
      return fail(res, 400, 'invalid_method', 'invalid method')
    }
    if (method === 'propagated' && !propagated) {
      return fail(res, 400, 'method_unavailable', 'propagated: method unavailable: no propagation node chosen')
    }
    const title = typeof body.title === 'string' ? body.title : ''
    const content = typeof body.content === 'string' ? body.content : ''
    if (!content) return fail(res, 400, 'empty_content', 'message has no content')
    const size = Buffer.byteLength(title) + Buffer.byteLength(content)
    if (size > MAX_CONTENT) {
      return fail(res, 400, 'too_large', `too large: title and content are limited to ${MAX_CONTENT} bytes`)
    }
    if (method === 'opportunistic' && size > OPPORTUNISTIC_MAX) method = 'direct'
    const t = now()
    const m = {
      id: rid(32), direction: 'out', peer: to, title, content, timestamp: t, state: 'queued', method,
      attempts: 0, verified: false, created_at: t, sentAt: Date.now(),
    }
    state.messages.push(m)
    return json(res, 202, messageView(m))
  }
  return fail(res, 405, 'method_not_allowed', 'Method not allowed.')
}

/** propagationView advances a running mock sync with time: linking, receiving, then done with one message. */
function propagationView() {
  const p = state.propagation
  if (p.syncStarted !== null) {
    const age = Date.now() - p.syncStarted
    const steps = ['path_requested', 'linking', 'requesting', 'receiving']
    if (age < 4000) {
      p.sync.state = steps[Math.floor(age / 1000)]
      p.sync.progress = age / 4000
    } else {
      p.syncStarted = null
      p.sync = { ...p.sync, state: 'done', progress: 1, received: 1, finished_at: now() }
      const t = now()
      state.messages.push({
        id: rid(32), direction: 'in', peer: MOCK_PEER, title: '', content: 'Picked up from the propagation node',
        timestamp: t, state: 'received', method: 'propagated', attempts: 0, verified: true, created_at: t,
      })
    }
  }
  const { syncStarted: _s, ...view } = p
  return view
}

/** propagationAPI fakes /propagation, /propagation/node and /propagation/sync. */
async function propagationAPI(req, res, route) {
  const p = state.propagation
  if (route === 'GET /api/v1/propagation') return json(res, 200, propagationView())
  if (route === 'PUT /api/v1/propagation/node') {
    const body = await readJSON(req)
    const raw = String(body.address ?? '').trim()
    if (raw === '') {
      p.node = ''
      return json(res, 200, propagationView())
    }
    const a = parseAddress(raw)
    if (!a) return fail(res, 400, 'invalid_address', 'invalid address: 32 hex digits expected')
    p.node = a
    return json(res, 200, propagationView())
  }
  if (route === 'POST /api/v1/propagation/sync') {
    propagationView()
    if (!p.node) return fail(res, 409, 'no_propagation_node', 'choose a propagation node first')
    if (p.syncStarted !== null) return fail(res, 409, 'sync_running', 'a sync is already running')
    p.syncStarted = Date.now()
    p.sync = { state: 'path_requested', node: p.node, progress: 0, received: 0, failed: 0, remaining: 0, started_at: now() }
    return json(res, 202, propagationView())
  }
  if (route === 'DELETE /api/v1/propagation/sync') {
    if (p.syncStarted !== null) {
      p.syncStarted = null
      p.sync = { ...p.sync, state: 'failed', error: 'sync cancelled', finished_at: now() }
    }
    return json(res, 204)
  }
  return fail(res, 404, 'not_found', 'No such endpoint.')
}

async function sendFile(req, res, file, cache) {
  const body = await readFile(file)
  res.writeHead(200, {
    'Content-Type': types[extname(file)] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': cache,
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

async function isFile(p) {
  try {
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}

async function staticOrFallback(req, res, path) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'method_not_allowed', 'Method not allowed.')
  const rel = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '')
  const file = resolve(DIST, rel)
  if ((file === DIST || file.startsWith(DIST + sep)) && rel && (await isFile(file))) {
    const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
    return sendFile(req, res, file, cache)
  }
  // A missing hashed asset is a 404, never index.html (stale tabs would get HTML as JS).
  if (rel.startsWith('assets/') || extname(rel) !== '') {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
    return res.end('not found')
  }
  return sendFile(req, res, join(DIST, 'index.html'), 'no-cache')
}

const server = createServer(async (req, res) => {
  baseHeaders(res)
  try {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path === '/api' || path.startsWith('/api/')) return await api(req, res, path)
    return await staticOrFallback(req, res, path)
  } catch (err) {
    if (!res.headersSent) fail(res, 400, 'bad_request', 'Bad request.')
    else res.end()
    process.stderr.write(`mock: ${err instanceof Error ? err.message : String(err)}\n`)
  }
})

// GET /api/v1/ws: a minimal websocket that checks the session cookie and Origin, sends the hello frame
// and then stays open without events (the mock has no mesh). Frames from the client are ignored.
server.on('upgrade', (req, socket) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  const sess = state.sessions.get(cookies(req)[COOKIE] ?? '')
  const originOK = req.headers.origin === `http://${req.headers.host}`
  if (path !== '/api/v1/ws' || !sess || !originOK || !req.headers['sec-websocket-key']) {
    socket.end(`HTTP/1.1 ${sess ? 403 : 401} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    return
  }
  const accept = createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC11B41')
    .digest('base64')
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
  const hello = Buffer.from('{"kind":"hello"}')
  socket.write(Buffer.concat([Buffer.from([0x81, hello.length]), hello]))
  socket.on('data', () => {})
  socket.on('error', () => socket.destroy())
})

server.listen(Number(opt.port), '127.0.0.1', () => {
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : opt.port
  process.stdout.write(`mock Reticle on http://127.0.0.1:${port}/ (dist: ${DIST})\n`)
  if (state.password === null) process.stdout.write(`setup code: ${state.setupCode}\n`)
})

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)))
