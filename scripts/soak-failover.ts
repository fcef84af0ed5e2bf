/**
 * `npm run soak:failover`: the soak's 50 browsers on the demo over a local Redis Cluster of
 * its own (three masters, three replicas), and a master killed with SIGKILL mid-run. Once the
 * cluster has promoted its replica, the killed node is started again, as a supervisor would,
 * and rejoins as the new master's replica. Run twice: writes acknowledged once the master has
 * them (the default), and once a replica has them too (`replicas: { wait: 1 }`, the demo's
 * `REDIS_WAIT_REPLICAS=1`). The table says what the failover cost: 503s and for how long, and
 * what was lost: acknowledged notes, sessions of logged-in browsers, revoked sessions back.
 *
 *   npm run soak:failover                           # 20 s per run, the kill at 6 s
 *   npm run soak:failover -- --duration 30 --kill-at 10 --modes wait
 *
 * Exit code: 0 when no run saw a 5xx other than a 503 with Retry-After, nor (with `wait`) any
 * loss: an acknowledged note, a logged-in session; 1 otherwise; 2 for bad usage.
 * @module
 */
import { parseArgs } from 'node:util'
import { LocalRedisCluster, redisClusterAvailable } from '../test/support/redis-cluster.js'
import { runSoak, type SoakResult } from './soak/driver.js'
import { redisCluster } from './soak/stores.js'

const usageText =
  'usage: npm run soak:failover -- [--duration SECONDS] [--kill-at SECONDS] [--concurrency N] ' +
  '[--modes plain,wait] [--seed N]'

function usage(message: string): never {
  process.stderr.write(`soak:failover: ${message}\n${usageText}\n`)
  process.exit(2)
}

let values: Record<string, string | undefined>
try {
  ;({ values } = parseArgs({
    options: {
      duration: { type: 'string', default: '20' },
      'kill-at': { type: 'string', default: '6' },
      concurrency: { type: 'string', default: '50' },
      modes: { type: 'string', default: 'plain,wait' },
      seed: { type: 'string' },
    },
    strict: true,
  }) as { values: Record<string, string | undefined> })
} catch (error) {
  usage(error instanceof Error ? error.message : String(error))
}
const number = (name: string, min: number) => {
  const n = Number(values[name])
  if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min}`)
  return n
}
const duration = number('duration', 2)
const killAt = number('kill-at', 1)
const concurrency = number('concurrency', 1)
const seed = values.seed === undefined ? undefined : number('seed', 0)
const modes = String(values.modes).split(',')
if (modes.some((m) => m !== 'plain' && m !== 'wait')) usage('--modes takes plain, wait or both')
if (killAt >= duration) usage('--kill-at must come before the end of --duration')
const missing = redisClusterAvailable()
if (missing) {
  process.stderr.write(`soak:failover: ${missing}\n`)
  process.exit(1)
}

interface Row {
  mode: string
  result: SoakResult
  promoted: number
  replicaBack: number
}

const rows: Row[] = []
for (const mode of modes) {
  const cluster = await LocalRedisCluster.start({ nodeTimeout: 1000 })
  try {
    let promoted = Number.NaN
    let replicaBack = Number.NaN
    const store = redisCluster(cluster.url, mode === 'wait' ? { REDIS_WAIT_REPLICAS: '1' } : {})
    process.stderr.write(`soak:failover: ${mode}: ${duration} s, a master killed at ${killAt} s…\n`)
    const result = await runSoak(
      {
        name: `redis-cluster ${mode}`,
        unavailable: async () => null,
        prepare: async () => store,
      },
      {
        duration,
        warmup: Math.min(killAt / 2, 2),
        concurrency,
        maxRequests: 10_000_000,
        maxHeapGrowth: 64,
        maxRssGrowth: null,
        ...(seed === undefined ? {} : { seed }),
        fault: {
          at: killAt,
          inject: async () => {
            const [victim] = await cluster.masters()
            const t = performance.now()
            await cluster.kill(victim!)
            await cluster.waitHealthy(30_000)
            promoted = (performance.now() - t) / 1000
            await cluster.restart(victim!)
            await cluster.waitHealthy(30_000)
            replicaBack = (performance.now() - t) / 1000
          },
        },
      },
    )
    rows.push({ mode, result, promoted, replicaBack })
  } finally {
    await cluster.stop()
  }
}

const header = [
  'mode',
  'requests',
  'req/s',
  '503s',
  'outage s',
  'promoted s',
  'other 5xx',
  'wrong pages',
  'acked notes lost',
  'logged out by it',
  'missing / stray sessions',
  'result',
]
let failed = false
const table = rows.map(({ mode, result: r, promoted, replicaBack }) => {
  // Stray sessions are not counted as lost: a login whose second step (removing the old
  // session) failed leaves its new session with no browser holding it (it expires unused).
  const loss = r.lostWrites + (r.outage?.silentLogouts ?? 0) + r.missingRecords
  const bad = r.serverErrors > 0 || (mode === 'wait' && loss > 0)
  failed ||= bad
  return [
    mode,
    String(r.requests),
    r.perSecond.toFixed(0),
    String(r.outage?.unavailable ?? 0),
    (r.outage?.seconds ?? 0).toFixed(1),
    `${promoted.toFixed(1)} (replica back ${replicaBack.toFixed(1)})`,
    String(r.serverErrors),
    String(r.anomalies - r.serverErrors),
    `${r.lostWrites} / ${r.acknowledgedWrites}`,
    String(r.outage?.silentLogouts ?? 0),
    `${r.missingRecords} / ${r.strayRecords}`,
    bad ? 'FAILED' : 'ok',
  ]
})
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)))
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
console.log(
  `\nRedis Cluster failover under ${concurrency} browsers: ${duration} s, kill at ${killAt} s`,
)
console.log(line(header))
for (const row of table) console.log(line(row))
for (const { mode, result } of rows) {
  for (const example of result.examples.slice(0, 20)) console.log(`  ${mode}: ${example}`)
}
process.exit(failed ? 1 : 0)
