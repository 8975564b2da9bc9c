#!/usr/bin/env node
// Checks that the committed dist/ matches a fresh build of the sources:
// builds into a temporary directory and compares every file byte for byte.
// Run after `npm ci`: `npm run check-dist`. Exits 1 and lists the
// differences when dist/ is stale (then run `npm run build` and commit dist/).
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const committed = join(root, 'dist')

async function files(dir) {
  const out = new Map()
  async function walk(d) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else out.set(relative(dir, p), await readFile(p))
    }
  }
  try {
    await walk(dir)
  } catch (err) {
    if (err.code !== 'ENOENT') throw err
  }
  return out
}

const tmp = await mkdtemp(join(tmpdir(), 'reticle-ui-dist-'))
try {
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
  const res = spawnSync(process.execPath, [vite, 'build', '--outDir', tmp, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (res.status !== 0) {
    process.stderr.write('check-dist: vite build failed\n')
    process.exit(1)
  }
  const want = await files(tmp)
  const have = await files(committed)
  const problems = []
  for (const [name, body] of want) {
    if (!have.has(name)) problems.push(`missing in dist/: ${name}`)
    else if (!have.get(name).equals(body)) problems.push(`differs: ${name}`)
  }
  for (const name of have.keys()) if (!want.has(name)) problems.push(`stale file in dist/: ${name}`)
  if (problems.length) {
    process.stderr.write('check-dist: ui/dist does not match the sources; run `npm run build` in ui/ and commit dist/\n')
    for (const p of problems) process.stderr.write(`  - ${p}\n`)
    process.exit(1)
  }
  process.stdout.write(`check-dist: dist/ matches the sources (${want.size} files)\n`)
} finally {
  await rm(tmp, { recursive: true, force: true })
}
