/**
 * Where a system's time goes: `npm run bench:profile -- <system id> <scenario> [seconds]` runs
 * it under `node --cpu-prof` while the load generator drives one scenario, then prints the
 * functions with the most self time (and where the profile was written, for Chrome DevTools).
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loginBody, newRunId } from './lib/config.js'
import { detectLoader, type LoadJob, load, sessionHeaders } from './lib/load.js'
import { isMain, resultsDir, root } from './lib/paths.js'
import { killAll, startServer } from './lib/proc.js'
import { cleanAll } from './lib/services.js'
import { type Scenario, systemById } from './lib/systems.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

/** The functions with the most self time in a .cpuprofile, as lines. */
export function summarize(path: string, top = 25): string[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[]
    samples: number[]
    timeDeltas: number[]
  }
  const self = new Map<string, number>()
  let total = 0
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    total += hits
    const { functionName, url, lineNumber } = node.callFrame
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + hits)
  }
  const byFile = new Map<string, number>()
  for (const node of profile.nodes) {
    const file = node.callFrame.url ? shortUrl(node.callFrame.url) : node.callFrame.functionName
    byFile.set(file, (byFile.get(file) ?? 0) + (node.hitCount ?? 0))
  }
  const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)}%`
  return [
    'self time by function:',
    ...[...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => `  ${pct(hits)}  ${name}`),
    'self time by file:',
    ...[...byFile]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([name, hits]) => `  ${pct(hits)}  ${name}`),
  ]
}

function shortUrl(url: string): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  return path.startsWith(root) ? relative(root, path) : path
}

async function main(): Promise<void> {
  const [id, scenario = 'read', secondsText = '5'] = process.argv.slice(2)
  if (id?.endsWith('.cpuprofile')) {
    console.log(summarize(id, Number(scenario) || 25).join('\n'))
    return
  }
  if (!id) {
    console.error(
      'usage: npm run bench:profile -- <system id> [read|skip|anon|write] [seconds]\n' +
        '       npm run bench:profile -- <file.cpuprofile> [top]',
    )
    process.exit(2)
  }
  const spec = systemById(id)
  const runId = newRunId()
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-prof-'))
  const dir = join(resultsDir, 'profiles', `${id}-${scenario}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const loader = detectLoader()
  const server = await startServer(id, runId, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] })
  try {
    const port = server.port
    let headers: Record<string, string> = {}
    if (scenario === 'read' || scenario === 'skip') {
      headers = await sessionHeaders(port, spec)
    }
    const job: LoadJob =
      (scenario as Scenario) === 'write'
        ? {
            port,
            path: '/login',
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: loginBody,
            seconds: Number(secondsText),
            connections: 32,
          }
        : {
            port,
            path: scenario === 'skip' ? '/ping' : '/',
            method: 'GET',
            headers: scenario === 'anon' ? {} : headers,
            seconds: Number(secondsText),
            connections: 32,
          }
    await load(loader, { ...job, seconds: 1 }, scratch)
    const result = await load(loader, job, scratch)
    console.log(`${id} ${scenario}: ${Math.round(result.rps)} req/s under --cpu-prof`)
  } finally {
    await server.stop()
    killAll()
    await cleanAll(runId)
    rmSync(scratch, { recursive: true, force: true })
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no profile written in ${dir}`)
  console.log(`profile: ${relative(root, join(dir, file))}`)
  console.log(summarize(join(dir, file)).join('\n'))
}

if (isMain(import.meta.url)) await main()
