/**
 * `npm run bench`: every system on loopback, each in its own process pinned to the second core,
 * driven by a load generator in another process pinned to the first. Three scenarios (four on
 * node:http): read (GET / logged in), skip (GET /ping logged in: the handler never touches the
 * session), anon (GET / with no cookie) and write (POST /login, a new session each time).
 * Systems are visited in a different order each round to spread drift, and each row is the
 * median of its rounds.
 *
 *   npm run bench                      # 3 rounds of 4 s per scenario, every system
 *   npm run bench -- --quick           # 1 round of 2 s, the main systems: a few minutes
 *   npm run bench -- --only bare,tessera-node-native --rounds 5
 *
 * Writes bench/results/latest.json (rows), latest.md (the table) and docs/bench-ratios.svg.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loginBody, newRunId } from './lib/config.js'
import {
  cpuSeconds,
  detectLoader,
  hasTaskset,
  type LoadJob,
  load,
  sessionHeaders,
} from './lib/load.js'
import { docsDir, resultsDir, scriptArgs } from './lib/paths.js'
import { killAll, type ServerProcess, startServer } from './lib/proc.js'
import { checkTargets, formatTables, type Row } from './lib/report.js'
import { cleanAll, pickSystems, reachable } from './lib/services.js'
import { ratioChart } from './lib/svg.js'
import { type Scenario, type SystemSpec, systems } from './lib/systems.js'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    loader: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    'no-chart': { type: 'boolean', default: false },
  },
})

const quick = flags.quick ?? false
const rounds = Number(flags.rounds ?? (quick ? 1 : 3))
const seconds = Number(flags.seconds ?? (quick ? 2 : 4))
// Each server's first scenario gets a second more, to warm its JIT.
const warmup = Number(flags.warmup ?? (quick ? 0 : 1))
const connections = Number(flags.connections)
const loader = detectLoader(flags.loader)
const runId = newRunId()
const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-'))
mkdirSync(resultsDir, { recursive: true })

for (const [name, value] of [
  ['rounds', rounds],
  ['seconds', seconds],
  ['warmup', warmup],
  ['connections', connections],
] as const) {
  if (!(Number.isInteger(value) && value >= (name === 'warmup' ? 0 : 1) && value <= 600)) {
    console.error(`--${name} must be a whole number (seconds are whole for wrk), got ${value}`)
    process.exit(2)
  }
}

const picked = pickSystems(
  flags.only,
  'only',
  quick ? systems.filter((s) => s.quick) : [...systems],
)

const { chosen, skipped } = await reachable(picked)

let interrupted = false
async function cleanup(): Promise<void> {
  killAll()
  await cleanAll(runId)
  rmSync(scratch, { recursive: true, force: true })
}
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error('\ninterrupted: stopping servers and removing this run’s keys, schema and files')
  cleanup().finally(() => process.exit(130))
})

const started = new Date()
const measurements = chosen.reduce((n, s) => n + s.scenarios.length, 0) * rounds
const estimate = Math.round(
  (measurements * (seconds + warmup + 0.5) + chosen.length * rounds * 2.5) / 60,
)
console.log(
  `tessera bench: ${chosen.length} systems, ${rounds} round(s) of ${seconds} s per scenario ` +
    `(+${warmup} s warm-up, +1 s more for each server’s first), ${connections} connections, load by ${loader}` +
    `${hasTaskset ? ', server on core 1 and load on core 0 (taskset)' : ', no taskset: not pinned'}` +
    ` — about ${estimate} min`,
)
if (skipped.length > 0) console.log(`skipped: ${skipped.join('; ')}`)

/** One measured (system, scenario, round). */
interface Sample {
  rps: number
  p50_ms: number
  p99_ms: number
  errors: number
  cpu: number | null
  /** Server CPU µs per request. */
  cpuPerReq: number | null
}

const samples = new Map<string, Sample[]>()
const failures: string[] = []

/** The request of a scenario, after checking that the system answers it as it should. */
async function prepare(spec: SystemSpec, scenario: Scenario, port: number): Promise<LoadJob> {
  const base = { port, seconds, connections }
  if (scenario === 'write') {
    return {
      ...base,
      path: '/login',
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(spec.carrier === 'token' ? { authorization: 'Bearer' } : {}),
      },
      body: loginBody,
    }
  }
  const path = scenario === 'skip' ? '/ping' : '/'
  const headers = scenario === 'anon' ? {} : await sessionHeaders(port, spec)
  await check(spec, scenario, port, path, headers)
  return { ...base, path, method: 'GET', headers }
}

async function check(
  spec: SystemSpec,
  scenario: Scenario,
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers, redirect: 'manual' })
  const body = await response.text()
  const expected =
    scenario === 'skip'
      ? 'pong'
      : scenario === 'read' && spec.mode !== 'none'
        ? 'Logged in as admin'
        : 'You are not logged in'
  if (response.status !== 200 || body !== expected) {
    throw new Error(`${scenario}: expected 200 "${expected}", got ${response.status} "${body}"`)
  }
}

async function measureSystem(spec: SystemSpec, round: number): Promise<void> {
  let server: ServerProcess | null = null
  try {
    server = await startServer(spec.id, runId)
    let first = true
    for (const scenario of spec.scenarios) {
      if (interrupted) return
      const job = await prepare(spec, scenario, server.port)
      const warm = first ? warmup + 1 : warmup
      first = false
      if (warm > 0) await load(loader, { ...job, seconds: warm }, scratch)
      const cpuBefore = cpuSeconds(server.pid)
      const t0 = performance.now()
      const result = await load(loader, job, scratch)
      const wall = (performance.now() - t0) / 1000
      const cpuAfter = cpuSeconds(server.pid)
      if (scenario !== 'write') {
        await check(spec, scenario, server.port, job.path, job.headers)
      }
      const key = `${spec.id}|${scenario}`
      const list = samples.get(key) ?? []
      list.push({
        rps: result.rps,
        p50_ms: result.p50_ms,
        p99_ms: result.p99_ms,
        errors: result.errors,
        cpu: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / wall,
        cpuPerReq:
          cpuBefore === null || cpuAfter === null || result.requests === 0
            ? null
            : ((cpuAfter - cpuBefore) / result.requests) * 1e6,
      })
      samples.set(key, list)
      process.stdout.write(
        `  r${round + 1} ${spec.id.padEnd(26)} ${scenario.padEnd(5)} ` +
          `${Math.round(result.rps).toString().padStart(7)} req/s` +
          `${result.errors > 0 ? `  ${result.errors} errors` : ''}\n`,
      )
    }
  } catch (error) {
    const message = `${spec.id} (round ${round + 1}): ${(error as Error).message}`
    failures.push(message)
    console.error(`  FAILED ${message}`)
  } finally {
    await server?.stop()
  }
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

try {
  for (let round = 0; round < rounds && !interrupted; round++) {
    // Rotate, and reverse every other round, so no system always runs first or last.
    const shift = Math.round((round * chosen.length) / rounds)
    let order = [...chosen.slice(shift), ...chosen.slice(0, shift)]
    if (round % 2 === 1) order = order.reverse()
    console.log(`round ${round + 1} of ${rounds}`)
    for (const spec of order) {
      if (interrupted) break
      await measureSystem(spec, round)
    }
  }
} finally {
  if (!interrupted) await cleanup()
}
if (interrupted) process.exit(130)

const rows: Row[] = []
for (const spec of chosen) {
  for (const scenario of spec.scenarios) {
    const list = samples.get(`${spec.id}|${scenario}`)
    if (!list || list.length === 0) continue
    const cpuList = list.map((s) => s.cpu).filter((c): c is number => c !== null)
    const perReq = list.map((s) => s.cpuPerReq).filter((c): c is number => c !== null)
    rows.push({
      id: spec.id,
      system: spec.system,
      framework: spec.framework,
      mode: spec.mode,
      scenario,
      rps: Math.round(median(list.map((s) => s.rps))),
      p50_ms: round2(median(list.map((s) => s.p50_ms))),
      p99_ms: round2(median(list.map((s) => s.p99_ms))),
      errors: list.reduce((sum, s) => sum + s.errors, 0),
      ratio_bare: null,
      ratio_framework: null,
      server_cpu: cpuList.length > 0 ? round2(median(cpuList)) : null,
      cpu_us_per_req: perReq.length > 0 ? Math.round(median(perReq) * 10) / 10 : null,
      ratio_cpu: null,
      rounds: list.map((s) => Math.round(s.rps)),
    })
  }
}
const rpsOf = (id: string, scenario: Scenario) =>
  rows.find((r) => r.id === id && r.scenario === scenario)?.rps
for (const row of rows) {
  const bare = rpsOf('bare', row.scenario)
  if (bare) row.ratio_bare = round3(row.rps / bare)
  const bareCpu = rows.find((r) => r.id === 'bare' && r.scenario === row.scenario)?.cpu_us_per_req
  if (bareCpu && row.cpu_us_per_req) row.ratio_cpu = round3(bareCpu / row.cpu_us_per_req)
  const spec = chosen.find((s) => s.id === row.id)!
  const base = spec.baseline && spec.baseline !== 'bare' ? rpsOf(spec.baseline, row.scenario) : null
  if (base) row.ratio_framework = round3(row.rps / base)
}

const cpuModel = cpus()[0]?.model ?? 'unknown CPU'
const meta = {
  date: started.toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  node: process.version,
  machine: `${cpus().length} × ${cpuModel}`,
  loader,
  pinned: hasTaskset,
  rounds,
  seconds,
  warmup,
  connections,
}
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(rows, null, 2)}\n`)
writeFileSync(join(resultsDir, 'latest-meta.json'), `${JSON.stringify(meta, null, 2)}\n`)
const tables = formatTables(rows)
writeFileSync(join(resultsDir, 'latest.md'), `${tables.markdown}\n`)
console.log(`\n${tables.text}`)
if (!flags['no-chart']) {
  const svg = ratioChart(rows, meta)
  mkdirSync(docsDir, { recursive: true })
  writeFileSync(join(docsDir, 'bench-ratios.svg'), svg)
  console.log(`chart: docs/bench-ratios.svg`)
}

if (!flags['no-memory']) {
  // In its own process, so its servers, timers and heap readings are apart from this one's.
  const args = [...scriptArgs('memory'), ...(quick ? ['--quick'] : []), '--loader', loader]
  const status = spawnSync(process.execPath, args, { stdio: 'inherit' }).status
  if (status !== 0) failures.push(`memory benchmark exited with ${status}`)
}

console.log(`\n${checkTargets(rows).join('\n')}`)
if (failures.length > 0) console.log(`\nfailures:\n  ${failures.join('\n  ')}`)
console.log(
  `\nrows: bench/results/latest.json, table: bench/results/latest.md ` +
    `(${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min)`,
)

function round2(n: number): number {
  return Math.round(n * 100) / 100
}
function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}
