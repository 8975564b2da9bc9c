#!/usr/bin/env node
// Two-node browser test: two real Reticle nodes on loopback, joined by a TCP interface, each driven by
// its own headless Chromium page, as two people would use them.
//
//   node ui/tests/twonode.mjs <baseA> <baseB> --password-file FILE [--screenshot-dir DIR]
//
// A sends text, an image and a file; B sees them arrive live (no reload) with an unread badge; B replies
// with a quote and reacts; A sees both live and its messages delivered; A blocks B, and B's next
// message never reaches A. Fails on any console error, page error, CSP violation or failed request.
// Screenshots at desktop (1280 px) and phone (390 px) width go to --screenshot-dir.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'

const TOTAL_MS = 150_000
const STEP_MS = 20_000
const DESKTOP = { width: 1280, height: 860 }
const PHONE = { width: 390, height: 844 }

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'password-file': { type: 'string' }, 'screenshot-dir': { type: 'string' }, 'export-to': { type: 'string' }, mesh: { type: 'string' } },
})
if (positionals.length !== 2 || !opt['password-file'] || !opt.mesh) {
  process.stderr.write('usage: node twonode.mjs <baseA> <baseB> --password-file FILE --mesh HOST:PORT [--screenshot-dir DIR]\n')
  process.exit(2)
}
const password = (await readFile(opt['password-file'], 'utf8')).trimEnd()

const problems = []
let step = 'start'
const problem = (msg) => problems.push(`[${step}] ${msg}`)
let browser = null
// A request the test makes fail on purpose (status and path), with the console line the browser logs.
let expected = null
let userDataDir = ''

async function finish(code) {
  try {
    await browser?.close()
  } catch {
    // already gone
  }
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true })
  if (problems.length) {
    process.stderr.write(`twonode: FAIL (${problems.length} problem(s))\n`)
    for (const p of problems) process.stderr.write(`  - ${p}\n`)
    code = 1
  } else if (code === 0) {
    process.stdout.write('twonode: OK\n')
  }
  process.exit(code)
}
setTimeout(() => {
  problem(`timed out after ${TOTAL_MS / 1000} s`)
  void finish(1)
}, TOTAL_MS)

function recordViolations() {
  const list = []
  Object.defineProperty(window, '__cspViolations', { value: list })
  document.addEventListener('securitypolicyviolation', (e) => list.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`))
}

async function shot(page, name, size) {
  if (!opt['screenshot-dir']) return
  if (size) await page.setViewportSize(size)
  await page.waitForTimeout(150) // let the layout settle after a resize
  await page.screenshot({ path: join(opt['screenshot-dir'], `${name}.png`), fullPage: true })
}

/** open makes a page for one node, watching it for errors, and logs in. */
async function open(label, base) {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: base })
  context.setDefaultTimeout(STEP_MS)
  await context.addInitScript(recordViolations)
  const page = await context.newPage()
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expected && m.text().includes(`status of ${expected.status}`))) problem(`${label} console error: ${m.text()}`)
    else if (m.text().includes('Content Security Policy')) problem(`${label} console: ${m.text()}`)
  })
  page.on('pageerror', (e) => problem(`${label} page error: ${e.message}`))
  page.on('requestfailed', (r) => {
    // A websocket or request cut by our own navigation is not a failure of the app.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? '')) problem(`${label} request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`)
  })
  page.on('response', (r) => {
    if (r.status() >= 400 && !(expected && r.status() === expected.status && r.url().endsWith(expected.path)))
      problem(`${label} HTTP ${r.status()} for ${r.request().method()} ${r.url()}`)
  })
  step = `${label}: login`
  await page.goto('/messages')
  await page.getByTestId('login-password').fill(password)
  await page.getByTestId('login-submit').click()
  await page.getByTestId('shell').waitFor()
  await page.getByTestId('messages-live').waitFor()
  const address = ((await page.getByTestId('my-address').textContent()) ?? '').trim()
  if (!/^[0-9a-f]{32}$/.test(address)) throw new Error(`${label}: my address shows ${JSON.stringify(address)}`)
  // A reload would reset this marker; the live checks below assert it survives.
  await page.evaluate(() => (window.__noReload = true))
  return { page, address, label }
}

async function noReload(n) {
  if (!(await n.page.evaluate(() => window.__noReload === true))) problem(`${n.label}: the page reloaded`)
}

/** hear announces both nodes until each lists the other (bounded: 4 rounds). */
async function hear(a, b) {
  for (let round = 0; round < 4; round++) {
    await a.page.getByTestId('announce').click()
    await b.page.getByTestId('announce').click()
    try {
      await a.page.locator(`[data-testid="peer-row"][data-address="${b.address}"]`).waitFor({ timeout: 5000 })
      await b.page.locator(`[data-testid="peer-row"][data-address="${a.address}"]`).waitFor({ timeout: 5000 })
      return
    } catch {
      // not yet: announce again
    }
  }
  throw new Error('the nodes never heard each other announce')
}

/** sendFrom types into the open conversation of n and sends; it returns the server's message. */
async function sendFrom(n, text, files = {}) {
  if (files.image) await n.page.getByTestId('attach-image').setInputFiles(files.image)
  if (files.file) await n.page.getByTestId('attach-file').setInputFiles(files.file)
  if (files.image || files.file) await n.page.getByTestId('pending').waitFor()
  await n.page.getByTestId('compose-content').fill(text)
  const posted = n.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/messages'))
  await n.page.getByTestId('compose-send').click()
  const res = await posted
  if (res.status() !== 202) throw new Error(`${n.label}: POST /api/v1/messages answered ${res.status()}: ${await res.text()}`)
  return res.json()
}

const row = (n, id) => n.page.locator(`[data-testid="message-row"][data-id="${id}"]`)

async function waitState(n, id, want) {
  const badge = row(n, id).getByTestId('message-state')
  const deadline = Date.now() + STEP_MS
  let got = ''
  while (Date.now() < deadline) {
    got = ((await badge.textContent().catch(() => '')) ?? '').trim()
    if (got === want) return
    await n.page.waitForTimeout(200)
  }
  problem(`${n.label}: message ${id.slice(0, 8)} is ${JSON.stringify(got)}, not ${want}`)
}

// A 48x32 gradient PNG and a small text file.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAADAAAAAgCAIAAADbtmxLAAALp0lEQVR42hXWIcvqAACF4RVBLBoMs8jAsiIMiwuGWWRgWRHE4oJhFhlYVoRhccEwiwwsbxHEosEwiwiWFUEsGgyzyMCyaLzfPb/gCYfDEQSBjEBOIC9QFCgJlAUqArJAVaAmUBdoCDQFWgJtAUOgI9AT6AsMBIYCI4GxgCMwEZgKzATmAguBpcBKAIG1wFZgJ3AQOAqcBC4CkcBV4C7wEHgJvAU+Al8BQciSyZLLks9SzFLKUs5SySJnqWapZalnaWRpZmllaWcxsnSy9LL0swyyDLOMsoyzOFkmWaZZZlnmWRZZlllWWciyzrLNsstyyHLMcspyyRJluWa5Z3lkeWV5Z/lk+Wb/QAUyBXIF8gWKBUoFygUqBeQC1QK1AvUCjQLNAq0C7QJGgU6BXoF+gUGBYYFRgXEBp8CkwLTArMC8wKLAssCqAAXWBbYFdgUOBY4FTgUuBaIC1wL3Ao8CrwLvAp8C38IfSCQjkhPJixRFSiJlkYqILFIVqYnURRoiTZGWSFvEEOmI9ET6IgORochIZCziiExEpiIzkbnIQmQpshJBZC2yFdmJHESOIieRi0gkchW5izxEXiJvkY/IV/wDSWQkchJ5iaJESaIsUZGQJaoSNYm6REOiKdGSaEsYEh2JnkRfYiAxlBhJjCUciYnEVGImMZdYSCwlVhJIrCW2EjuJg8RR4iRxkYgkrhJ3iYfES+It8ZH4Sn8gmYxMTiYvU5QpyZRlKjKyTFWmJlOXacg0ZVoybRlDpiPTk+nLDGSGMiOZsYwjM5GZysxk5jILmaXMSgaZtcxWZidzkDnKnGQuMpHMVeYu85B5ybxlPjJf+Q+kkFHIKeQVigolhbJCRUFWqCrUFOoKDYWmQkuhrWAodBR6Cn2FgcJQYaQwVnAUJgpThZnCXGGhsFRYKaCwVtgq7BQOCkeFk8JFIVK4KtwVHgovhbfCR+Gr/IFUMio5lbxKUaWkUlapqMgqVZWaSl2lodJUaam0VQyVjkpPpa8yUBmqjFTGKo7KRGWqMlOZqyxUliorFVTWKluVncpB5ahyUrmoRCpXlbvKQ+Wl8lb5qHzVP5BGRiOnkdcoapQ0yhoVDVmjqlHTqGs0NJoaLY22hqHR0ehp9DUGGkONkcZYw9GYaEw1ZhpzjYXGUmOlgcZaY6ux0zhoHDVOGheNSOOqcdd4aLw03hofja/2B9LJ6OR08jpFnZJOWaeiI+tUdWo6dZ2GTlOnpdPWMXQ6Oj2dvs5AZ6gz0hnrODoTnanOTGeus9BZ6qx00FnrbHV2Ogedo85J56IT6Vx17joPnZfOW+ej89X/QAYZg5xB3qBoUDIoG1QMZIOqQc2gbtAwaBq0DNoGhkHHoGfQNxgYDA1GBmMDx2BiMDWYGcwNFgZLg5UBBmuDrcHO4GBwNDgZXAwig6vB3eBh8DJ4G3wMvsYfqEumS65LvkuxS6lLuUuli9yl2qXWpd6l0aXZpdWl3cXo0unS69LvMugy7DLqMu7idJl0mXaZdZl3WXRZdll1ocu6y7bLrsuhy7HLqculS9Tl2uXe5dHl1eXd5dPl2/0DmWRMciZ5k6JJyaRsUjGRTaomNZO6ScOkadIyaZsYJh2TnknfZGAyNBmZjE0ck4nJ1GRmMjdZmCxNViaYrE22JjuTg8nR5GRyMYlMriZ3k4fJy+Rt8jH5mn8gi4xFziJvUbQoWZQtKhayRdWiZlG3aFg0LVoWbQvDomPRs+hbDCyGFiOLsYVjMbGYWsws5hYLi6XFygKLtcXWYmdxsDhanCwuFpHF1eJu8bB4WbwtPhZf6w9kk7HJ2eRtijYlm7JNxUa2qdrUbOo2DZumTcumbWPYdGx6Nn2bgc3QZmQztnFsJjZTm5nN3GZhs7RZ2WCzttna7GwONkebk83FJrK52txtHjYvm7fNx+Zr/4EcMg45h7xD0aHkUHaoOMgOVYeaQ92h4dB0aDm0HQyHjkPPoe8wcBg6jBzGDo7DxGHqMHOYOywclg4rBxzWDluHncPB4ehwcrg4RA5Xh7vDw+Hl8Hb4OHydP5BLxiXnkncpupRcyi4VF9ml6lJzqbs0XJouLZe2i+HScem59F0GLkOXkcvYxXGZuExdZi5zl4XL0mXlgsvaZeuyczm4HF1OLheXyOXqcnd5uLxc3i4fl6/7B/LIeOQ88h5Fj5JH2aPiIXtUPWoedY+GR9Oj5dH2MDw6Hj2PvsfAY+gx8hh7OB4Tj6nHzGPusfBYeqw88Fh7bD12HgePo8fJ4+IReVw97h4Pj5fH2+Pj8fX+QD4Zn5xP3qfoU/Ip+1R8ZJ+qT82n7tPwafq0fNo+hk/Hp+fT9xn4DH1GPmMfx2fiM/WZ+cx9Fj5Ln5UPPmufrc/O5+Bz9Dn5XHwin6vP3efh8/J5+3x8vv4fKCATkAvIBxQDSgHlgEqAHFANqAXUAxoBzYBWQDvACOgE9AL6AYOAYcAoYBzgBEwCpgGzgHnAImAZsAogYB2wDdgFHAKOAaeAS0AUcA24BzwCXgHvgE/AN/gDQQZykIcilKAMlf+vgSrUoA4NaEIL2v+Hlw70oA8DGMIIxv+7ywSmMIM5LGAJK/5nDVvYwQGOcIILRHCFOzzgBW/4wPfvggsbMhtyG/IbihtKG8obKhvkDdUNtQ31DY0NzQ2tDe0NxobOht6G/obBhuGG0YbxBmfDZMN0w2zDfMNiw3LDagMb1hu2G3YbDhuOG04bLhuiDdcN9w2PDa8N7w2fDd/NH2hPZk9uT35PcU9pT3lPZY+8p7qntqe+p7Gnuae1p73H2NPZ09vT3zPYM9wz2jPe4+yZ7Jnume2Z71nsWe5Z7WHPes92z27PYc9xz2nPZU+057rnvuex57Xnveez57v/A4VkQnIh+ZBiSCmkHFIJkUOqIbWQekgjpBnSCmmHGCGdkF5IP2QQMgwZhYxDnJBJyDRkFjIPWYQsQ1YhhKxDtiG7kEPIMeQUcgmJQq4h95BHyCvkHfIJ+YZ/oDOZM7kz+TPFM6Uz5TOVM/KZ6pnamfqZxpnmmdaZ9hnjTOdM70z/zODM8MzozPiMc2ZyZnpmdmZ+ZnFmeWZ1hjPrM9szuzOHM8czpzOXM9GZ65n7mceZ15n3mc+Z7/kPFJGJyEXkI4oRpYhyRCVCjqhG1CLqEY2IZkQroh1hRHQiehH9iEHEMGIUMY5wIiYR04hZxDxiEbGMWEX/27uO2EbsIg4Rx4hTxCUiirhG3CMeEa+Id8Qn4hv9gW5kbuRu5G8Ub5RulG9Ubsg3qjdqN+o3GjeaN1o32jeMG50bvRv9G4MbwxujG+Mbzo3JjemN2Y35jcWN5Y3VDW6sb2xv7G4cbhxvnG5cbkQ3rjfuNx43XjfeNz43vrc/0JPMk9yT/JPik9KT8pPKE/lJ9UntSf1J40nzSetJ+4nxpPOk96T/ZPBk+GT0ZPzEeTJ5Mn0yezJ/sniyfLJ6wpP1k+2T3ZPDk+OT05PLk+jJ9cn9yePJ68n7yefJ9/kHisnE5GLyMcWYUkw5phIjx1RjajH1mEZMM6YV044xYjoxvZh+zCBmGDOKGcc4MZOYacwsZh6ziFnGrGKIWcdsY3Yxh5hjzCnmEhPFXGPuMY+YV8w75hPzjf9ACZmEXEI+oZhQSignVBLkhGpCLaGe0EhoJrQS2glGQiehl9BPGCQME0YJ4wQnYZIwTZglzBMWCcuEVQIJ64Rtwi7hkHBMOCVcEqKEa8I94ZHwSngnfBK+yR8oJZOSS8mnFFNKKeWUSoqcUk2ppdRTGinNlFZKO8VI6aT0Uvopg5RhyihlnOKkTFKmKbOUecoiZZmySiFlnbJN2aUcUo4pp5RLSpRyTbmnPFJeKe+UT8o3/QP9yPzI/cj/KP4o/Sj/qPyQf1R/1H7UfzR+NH+0frR/GD86P3o/+j8GP4Y/Rj/GP5wfkx/TH7Mf8x+LH8sfqx/8WP/Y/tj9OPw4/jj9uPyIflx/3H88frx+vH98fnx//APiN2mIMNIRPAAAAABJRU5ErkJggg==',
  'base64',
)
const FILE = Buffer.from(`notes from A ${randomBytes(4).toString('hex')}\n`)

try {
  userDataDir = await mkdtemp(join(tmpdir(), 'reticle-twonode-'))
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const a = await open('A', positionals[0])
  const b = await open('B', positionals[1])

  step = 'A names its node in Settings'
  await a.page.getByRole('link', { name: 'Settings' }).click()
  await a.page.getByTestId('settings-form').waitFor()
  const aName = `Alice field ${randomBytes(2).toString('hex')}`
  await a.page.getByTestId('settings-name').fill(aName)
  await a.page.getByTestId('settings-save').click()
  await a.page.getByTestId('settings-notice').waitFor()
  await shot(a.page, 'twonode-0-a-settings-desktop')

  step = 'A exports its identity (password typed again)'
  await a.page.getByTestId('identity-export-password').fill('not my password')
  expected = { status: 403, path: '/api/v1/identity/export' }
  await a.page.getByTestId('identity-export-submit').click()
  await a.page.getByTestId('identity-export-error').filter({ hasText: 'wrong password' }).waitFor()
  expected = null
  await a.page.getByTestId('identity-export-password').fill(password)
  const download = a.page.waitForEvent('download')
  await a.page.getByTestId('identity-export-submit').click()
  const file = await download
  if (!/^reticle-identity-[0-9a-f]{32}\.key$/.test(file.suggestedFilename())) problem(`identity download named ${file.suggestedFilename()}`)
  if (opt['export-to']) await file.saveAs(opt['export-to'])
  await a.page.getByRole('link', { name: 'Messages' }).click()
  await a.page.getByTestId('messages-live').waitFor()

  step = 'B joins the mesh from the Interfaces screen: a TCP client to A'
  await b.page.getByRole('link', { name: 'Interfaces' }).click()
  await b.page.getByTestId('add-interface').waitFor()
  const [meshHost, meshPort] = [opt.mesh.slice(0, opt.mesh.lastIndexOf(':')), opt.mesh.slice(opt.mesh.lastIndexOf(':') + 1)]
  await b.page.getByTestId('mode-client').check()
  await b.page.getByTestId('host').fill(meshHost)
  await b.page.getByTestId('port').fill('99999')
  expected = { status: 400, path: '/api/v1/interfaces' }
  await b.page.getByTestId('add-submit').click()
  await b.page.getByTestId('add-error').waitFor()
  expected = null
  await b.page.getByTestId('port').fill(meshPort)
  await b.page.getByTestId('add-interface').locator('summary').click()
  await b.page.getByTestId('name').fill('to-alice')
  await b.page.getByTestId('add-submit').click()
  await b.page.getByTestId('state-to-alice').filter({ hasText: /^up$/ }).waitFor()
  await shot(b.page, 'twonode-0b-b-interfaces-desktop')
  await shot(b.page, 'twonode-0c-b-interfaces-phone', PHONE)
  await b.page.setViewportSize(DESKTOP)

  step = "A hears B's interface-up announce without anyone pressing Announce"
  await a.page.locator(`[data-testid="peer-row"][data-address]`).first().waitFor()
  const heardB = ((await a.page.locator('[data-testid="peer-row"]').first().getAttribute('data-address')) ?? '').trim()
  await b.page.getByRole('link', { name: 'Messages' }).click()
  await b.page.getByTestId('messages-live').waitFor()

  step = 'announce'
  await hear(a, b)
  if (heardB !== b.address) problem(`A first heard ${heardB}, not B`)
  const named = b.page.locator(`[data-testid="peer-row"][data-address="${a.address}"]`)
  await named.filter({ hasText: aName }).waitFor()
  await shot(b.page, 'twonode-1-b-list-desktop')
  await b.page.getByTestId('show-qr').click()
  const qr = b.page.getByTestId('qr')
  await qr.waitFor()
  const qrText = (await qr.getAttribute('data-text')) ?? ''
  if (!new RegExp(`^lxma://${b.address}:[0-9a-f]{128}$`).test(qrText)) problem(`the QR code holds ${JSON.stringify(qrText)}`)
  if ((await qr.locator('path').getAttribute('d'))?.length < 100) problem('the QR code has no modules')
  await shot(b.page, 'twonode-1b-b-qr-phone', PHONE)
  await b.page.setViewportSize(DESKTOP)
  await b.page.getByTestId('show-qr').click()

  step = 'B adds A to its contacts (so A\'s attachments are stored), and the contact name wins'
  await b.page.getByRole('link', { name: 'Contacts' }).click()
  await b.page.getByTestId('contact-add').waitFor()
  await b.page.getByTestId('contact-add-address').fill('nonsense')
  await b.page.getByTestId('contact-add-submit').click()
  await b.page.getByTestId('contact-add').getByRole('alert').filter({ hasText: 'not an address' }).waitFor()
  await b.page.getByTestId('contact-add-address').fill(a.address.toUpperCase())
  const contactName = 'Alice (my contact)'
  await b.page.getByTestId('contact-add-name').fill(contactName)
  await b.page.getByTestId('contact-add-submit').click()
  const cRow = b.page.locator(`[data-testid="contact-row"][data-address="${a.address}"]`)
  await cRow.getByTestId('contact-display-name').filter({ hasText: contactName }).waitFor()
  if (!((await cRow.textContent()) ?? '').includes(aName)) problem('the contact row does not show the announced name beside the contact name')
  await cRow.getByTestId('contact-favourite').click()
  await cRow.locator('[data-testid="contact-favourite"][aria-pressed="true"]').waitFor()
  await shot(b.page, 'twonode-1c-b-contacts-desktop')
  await shot(b.page, 'twonode-1d-b-contacts-phone', PHONE)
  await b.page.setViewportSize(DESKTOP)
  await b.page.getByRole('link', { name: 'Messages' }).click()
  await b.page.getByTestId('messages-live').waitFor()
  await b.page.locator(`[data-testid="peer-row"][data-address="${a.address}"]`).filter({ hasText: contactName }).waitFor()

  step = 'A sends text, an image and a file'
  await a.page.locator(`[data-testid="peer-row"][data-address="${b.address}"]`).click()
  await a.page.getByTestId('conversation').waitFor()
  const method = await a.page.getByTestId('compose-method').inputValue()
  if (method !== 'automatic') problem(`the method defaults to ${method}, not automatic`)
  const hello = `hello from A ${randomBytes(3).toString('hex')}`
  const m1 = await sendFrom(a, hello)
  const m2 = await sendFrom(a, 'a picture and my notes', {
    image: { name: 'gradient.png', mimeType: 'image/png', buffer: PNG },
    file: { name: 'notes.txt', mimeType: 'text/plain', buffer: FILE },
  })

  step = 'B sees them live with an unread badge'
  const badge = b.page.getByTestId('unread-badge')
  await badge.waitFor()
  await b.page.waitForFunction(() => Number(document.querySelector('[data-testid="unread-badge"]')?.textContent) >= 2, null, { timeout: STEP_MS })
  if (!/^\(\d+\)/.test(await b.page.title())) problem(`B's title does not count unread messages: ${await b.page.title()}`)
  const bRow = b.page.locator(`[data-testid="peer-row"][data-address="${a.address}"]`)
  await bRow.getByTestId('peer-unread').waitFor()
  if ((await b.page.getByTestId('peer-more').count()) !== 0) problem('"More conversations" is offered with only one conversation')
  await noReload(b)
  await shot(b.page, 'twonode-2-b-unread-desktop')
  await shot(b.page, 'twonode-3-b-unread-phone', PHONE)
  await bRow.click()
  await b.page.getByTestId('conversation').waitFor()
  await row(b, m1.id).filter({ hasText: hello }).waitFor()
  const img = row(b, m2.id).getByTestId('attachment-image')
  await img.waitFor()
  await b.page.waitForFunction((id) => {
    const el = document.querySelector(`[data-testid="message-row"][data-id="${id}"] img`)
    return el && el.complete && el.naturalWidth === 48
  }, m2.id, { timeout: STEP_MS })
  const link = row(b, m2.id).getByTestId('attachment-link').filter({ hasText: 'notes.txt' })
  await link.waitFor()
  const href = await link.getAttribute('href')
  const got = await b.page.request.get(href)
  if (!(await got.body()).equals(FILE)) problem('the file B downloads differs from the one A sent')
  if (!(got.headers()['content-disposition'] ?? '').startsWith('attachment')) problem('the file download is not Content-Disposition: attachment')
  await shot(b.page, 'twonode-4-b-thread-phone')
  await b.page.setViewportSize(DESKTOP)
  await b.page.waitForFunction(() => !document.querySelector('[data-testid="unread-badge"]'), null, { timeout: STEP_MS })

  step = 'B replies with a quote and reacts'
  await row(b, m1.id).getByTestId('reply').click()
  await b.page.getByTestId('replying').waitFor()
  const reply = await sendFrom(b, `reply from B ${randomBytes(3).toString('hex')}`)
  await row(b, m1.id).getByTestId('react').click()
  const reacted = b.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/messages'))
  await row(b, m1.id).getByTestId('react-👍').click()
  if ((await reacted).status() !== 202) problem('the reaction was not accepted')
  await shot(b.page, 'twonode-5-b-thread-desktop')

  step = 'A sees the reply and the reaction live, and its messages delivered'
  const aReply = row(a, reply.id)
  await aReply.waitFor()
  if (!((await aReply.getByTestId('message-quote').textContent()) ?? '').includes(hello)) problem("the reply on A does not quote A's message")
  await row(a, m1.id).getByTestId('reactions').filter({ hasText: '👍' }).waitFor()
  await waitState(a, m1.id, 'delivered')
  await waitState(a, m2.id, 'delivered')
  await waitState(b, reply.id, 'delivered')
  await noReload(a)
  await shot(a.page, 'twonode-6-a-thread-desktop')
  await shot(a.page, 'twonode-7-a-thread-phone', PHONE)
  await a.page.setViewportSize(DESKTOP)

  step = "B, a stranger to A, sends a file: A keeps the message and holds the file back"
  const strangerFile = await sendFrom(b, 'a file for you', { file: { name: 'stranger.txt', mimeType: 'text/plain', buffer: FILE } })
  const held = row(a, strangerFile.id).getByTestId('held-attachment').filter({ hasText: 'stranger.txt' })
  await held.waitFor()
  if ((await row(a, strangerFile.id).getByTestId('attachment').count()) !== 0) problem("a stranger's file was stored on A")
  await shot(a.page, 'twonode-7b-a-held-desktop')
  step = 'A adds B to its contacts from the conversation header'
  await a.page.getByTestId('add-contact').click()
  await a.page.getByTestId('contact-name').fill('Bob from the field')
  await a.page.getByTestId('contact-save').click()
  await a.page.getByTestId('is-contact').waitFor()
  await a.page.getByTestId('conversation').getByRole('heading').filter({ hasText: 'Bob from the field' }).waitFor()

  step = "A blocks B; B's next message never arrives"
  await a.page.getByTestId('block').click()
  await a.page.getByTestId('blocked').waitFor()
  const after = await sendFrom(b, `after the block ${randomBytes(3).toString('hex')}`)
  // The messages before arrived within a second or two; give this one ten.
  await a.page.waitForTimeout(10_000)
  const listed = await a.page.request.get(`/api/v1/messages?peer=${b.address}&limit=50`)
  const ids = ((await listed.json()).items ?? []).map((m) => m.id)
  if (ids.includes(after.id)) problem("B's message after the block was stored on A")
  if (!ids.includes(reply.id)) problem("B's reply from before the block is gone from A")
  if ((await row(a, after.id).count()) !== 0) problem("B's message after the block is shown on A")
  // Reloaded, the header still says blocked.
  await a.page.reload()
  await a.page.getByTestId('blocked').waitFor()
  await shot(a.page, 'twonode-8-a-blocked-desktop')

  step = 'A sees B in the network view'
  await a.page.getByRole('link', { name: 'Network' }).click()
  const dot = a.page.locator(`[data-testid="network-dot"][data-destination="${b.address}"]`)
  await dot.waitFor()
  await dot.locator('circle').click()
  const shown = ((await a.page.getByTestId('network-detail-destination').textContent()) ?? '').trim()
  if (shown !== b.address) problem(`the network detail shows ${shown}, not B's address`)
  if (!((await a.page.getByTestId('network-detail').textContent()) ?? '').includes('1 hop')) problem('the network detail does not say 1 hop')
  await a.page.getByTestId('network-open').waitFor()
  await shot(a.page, 'twonode-9-a-network-desktop')
  await shot(a.page, 'twonode-10-a-network-phone', PHONE)
  await a.page.setViewportSize(DESKTOP)
  await a.page.getByTestId('network-open').click()
  await a.page.locator(`[data-testid="conversation"][data-peer="${b.address}"]`).waitFor()

  for (const n of [a, b]) {
    const v = await n.page.evaluate(() => window.__cspViolations ?? [])
    for (const x of v) problem(`${n.label} CSP violation: ${x}`)
  }
  await finish(0)
} catch (err) {
  problem(err instanceof Error ? err.message : String(err))
  await finish(1)
}
