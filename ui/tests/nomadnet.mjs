#!/usr/bin/env node
// Browser check of the NomadNet screen, run against a server whose owner password is known (the
// mock: node tests/mock-server.mjs --password PW, which serves NomadNet pages parsed by
// pkg/nomadnet/micron; or a real Reticle with a reachable node).
//
//   node ui/tests/nomadnet.mjs <baseURL> --password PW [--node HEX] [--screenshot-dir DIR] [--dark]
//
// Signs in, opens /nomadnet, opens the first node in the list (or --node), checks that the page is
// drawn (a heading, links, fields), fills the search field, follows the Search link and checks the
// submitted fields come back on the next page, goes Back, downloads the price sheet through a file
// link, and (on the mock) shows a node with no path as words.
// Fails on console errors, page errors or CSP violations. Screenshots at 1280 and 390 px wide.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'

const STEP_MS = 15_000
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { password: { type: 'string' }, node: { type: 'string' }, 'screenshot-dir': { type: 'string' }, dark: { type: 'boolean' } },
})
if (positionals.length !== 1 || !opt.password) {
  process.stderr.write('usage: node nomadnet.mjs <baseURL> --password PW [--node HEX] [--screenshot-dir DIR]\n')
  process.exit(2)
}
const base = new URL(positionals[0])
const problems = []
let step = 'start'
const problem = (m) => problems.push(`[${step}] ${m}`)

const userDataDir = await mkdtemp(join(tmpdir(), 'reticle-nomadnet-'))
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
  colorScheme: opt.dark ? 'dark' : 'light',
  timeout: STEP_MS,
})
context.setDefaultTimeout(STEP_MS)
await context.addInitScript(() => {
  const list = []
  Object.defineProperty(window, '__cspViolations', { value: list })
  document.addEventListener('securitypolicyviolation', (e) => list.push(`${e.violatedDirective} ${e.blockedURI}`))
})
const page = context.pages()[0] ?? (await context.newPage())
page.on('console', (m) => {
  // Expected error answers (the no-path node) show in the console as failed resources.
  if (m.type() === 'error' && !/status of (404|502)/.test(m.text())) problem(`console error: ${m.text()}`)
})
page.on('pageerror', (e) => problem(`page error: ${e.message}`))

async function shot(name) {
  const file = `${name}${opt.dark ? '-dark' : ''}.png`
  if (opt['screenshot-dir']) await page.screenshot({ path: join(opt['screenshot-dir'], file), fullPage: true })
}

try {
  step = 'login'
  await page.goto(new URL('/nomadnet', base).toString())
  await page.getByTestId('login-password').fill(opt.password)
  await page.getByTestId('login-submit').click()
  await page.getByTestId('shell').waitFor()
  await page.getByTestId('nav-nomadnet').click()

  step = 'open node'
  const row = opt.node
    ? page.locator(`[data-testid="nomad-node"][data-address="${opt.node}"]`)
    : page.getByTestId('nomad-node').first()
  await row.click()
  const doc = page.getByTestId('micron-page')
  await doc.waitFor()
  const addr = await page.getByTestId('nomad-address').inputValue()
  if (!/^[0-9a-f]{32}:\/page\/index\.mu$/.test(addr)) problem(`address bar shows ${addr}`)
  const links = await page.getByTestId('micron-link').count()
  const fields = await page.getByTestId('micron-field').count()
  if (links < 1) problem('no links drawn')
  await shot('nomadnet-desktop')

  if (fields > 0) {
    step = 'submit fields'
    await page.getByRole('textbox', { name: 'query' }).fill('mackerel')
    await page.getByTestId('micron-link').filter({ hasText: /^Search$/ }).click()
    await page.getByText('field_query = mackerel').waitFor()
    await page.getByText('var_src = home').waitFor()
    await shot('nomadnet-results')

    step = 'back'
    await page.getByTestId('nomad-back').click()
    await page.getByTestId('micron-link').filter({ hasText: /^Search$/ }).waitFor()
  }

  const fileLink = page.getByTestId('micron-link').filter({ hasText: /^Price sheet \(CSV\)$/ })
  if (await fileLink.count()) {
    step = 'file download'
    const [download] = await Promise.all([page.waitForEvent('download'), fileLink.click()])
    const path = await download.path()
    const { readFile } = await import('node:fs/promises')
    const body = await readFile(path, 'utf8')
    if (!body.includes('mackerel')) problem(`downloaded file holds ${JSON.stringify(body.slice(0, 80))}`)
  }

  step = 'phone width'
  await page.setViewportSize({ width: 390, height: 844 })
  await shot('nomadnet-phone')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  if (overflow > 1) problem(`page is ${overflow}px wider than the phone screen`)
  await page.setViewportSize({ width: 1280, height: 900 })

  if (!opt.node) {
    step = 'no path'
    await page.getByTestId('nomad-address').fill('0badc0de0badc0de0badc0de0badc0de')
    await page.getByTestId('nomad-go').click()
    const err = await page.getByTestId('nomad-error').textContent()
    if (!/No path/.test(err ?? '')) problem(`error shown: ${err}`)
    await shot('nomadnet-error')
  }

  const v = await page.evaluate(() => window.__cspViolations)
  for (const x of v) problem(`CSP violation: ${x}`)
} catch (e) {
  problem(e instanceof Error ? e.message : String(e))
} finally {
  await context.close()
  await rm(userDataDir, { recursive: true, force: true })
}
if (problems.length) {
  process.stderr.write(`nomadnet: FAIL\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
  process.exit(1)
}
process.stdout.write('nomadnet: OK\n')
