/**
 * `npm run soak`: the demo site under load on each server-side store (security test plan L-01),
 * one store after another, then a table of the results. See `scripts/soak/driver.ts` for what
 * is checked.
 *
 *   npm run soak                                    # 60 s per store: sqlite, redis, postgres
 *   npm run soak -- --duration 20 --stores sqlite,file --concurrency 20
 *   npm run soak -- --seed 1234                     # the same choices as an earlier run
 *
 * Exit code: 0 when every check held on every store, 1 when one failed (or a store was not
 * reachable), 2 for bad usage.
 * @module
 */
import { parseArgs } from 'node:util'
import { runSoak, type SoakOptions, type SoakResult } from './soak/driver.js'
import { soakStores } from './soak/stores.js'

const usageText =
  'usage: npm run soak -- [--duration SECONDS] [--concurrency N] [--stores LIST] ' +
  '[--max-requests N] [--warmup SECONDS] [--seed N] [--max-heap-growth MB] [--max-rss-growth MB]'

function usage(message: string): never {
  process.stderr.write(`soak: ${message}\n${usageText}\n`)
  process.exit(2)
}

let values: Record<string, string | boolean | undefined>
try {
  ;({ values } = parseArgs({
    options: {
      duration: { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '50' },
      stores: { type: 'string', default: 'sqlite,redis,postgres' },
      'max-requests': { type: 'string', default: '1000000' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      // After a full GC the heap of a server that keeps no sessions in memory should come back
      // to the same size; 16 MB allows for caches and pools that fill slowly, and still catches
      // a leak of a few hundred bytes per request over a minute.
      'max-heap-growth': { type: 'string', default: '16' },
      // The plan's bound. RSS is the coarser measure (V8 and malloc keep freed pages), but it
      // also sees native memory, which the heap does not.
      'max-rss-growth': { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }))
} catch (error) {
  usage(error instanceof Error ? error.message : String(error))
}
if (values.help) {
  process.stdout.write(`${usageText}\nstores: ${soakStores.map((s) => s.name).join(', ')}\n`)
  process.exit(0)
}

function number(name: string, min: number, integer: boolean): number | undefined {
  const text = values[name]
  if (typeof text !== 'string') return undefined
  const n = Number(text)
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    usage(`--${name} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}, not "${text}"`)
  }
  return n
}

const names = String(values.stores)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
const kinds = names.map((name) => {
  const kind = soakStores.find((s) => s.name === name)
  if (!kind) usage(`unknown store "${name}"; use some of ${soakStores.map((s) => s.name)}`)
  return kind
})
const seed = number('seed', 0, true)
const warmup = number('warmup', 0, false)
const options: SoakOptions = {
  duration: number('duration', 1, false)!,
  concurrency: number('concurrency', 1, true)!,
  maxRequests: number('max-requests', 1, true)!,
  maxHeapGrowth: number('max-heap-growth', 0, false)!,
  maxRssGrowth: number('max-rss-growth', 0, false)!,
  ...(seed === undefined ? {} : { seed }),
  ...(warmup === undefined ? {} : { warmup }),
}

const rows: (SoakResult | { store: string; unavailable: string })[] = []
for (const kind of kinds) {
  const reason = await kind.unavailable()
  if (reason) {
    rows.push({ store: kind.name, unavailable: reason })
    process.stderr.write(`soak: ${kind.name}: ${reason}\n`)
    continue
  }
  process.stderr.write(
    `soak: ${kind.name}: ${options.duration} s at concurrency ${options.concurrency}…\n`,
  )
  rows.push(await runSoak(kind, options))
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
const header = [
  'store',
  'requests',
  'req/s',
  'p50 ms',
  'p99 ms',
  '5xx',
  'lost writes',
  'live / records',
  'heap MB warm → end',
  'RSS MB warm → end',
  'result',
]
const table = rows.map((r) =>
  'unavailable' in r
    ? [r.store, '', '', '', '', '', '', '', '', '', 'UNAVAILABLE']
    : [
        r.store,
        String(r.requests),
        r.perSecond.toFixed(0),
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        String(r.serverErrors),
        `${r.lostWrites} / ${r.acknowledgedWrites}`,
        `${r.liveSessions} / ${r.storeRecords}`,
        `${mb(r.memory.warm.heapUsed)} → ${mb(r.memory.end.heapUsed)}`,
        `${mb(r.memory.warm.rss)} → ${mb(r.memory.end.rss)}`,
        r.failures.length === 0 ? 'ok' : 'FAILED',
      ],
)
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)))
const line = (cells: string[]) =>
  cells
    .map((c, i) =>
      i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!),
    )
    .join('  ')
console.log(`\nL-01 soak: ${options.duration} s per store, concurrency ${options.concurrency}`)
console.log(line(header))
console.log(line(widths.map((w) => '-'.repeat(w))))
for (const row of table) console.log(line(row))
console.log(
  'heap and RSS: the demo server after a full GC; medians of the first and of the last third ' +
    'of the samples taken under load after warm-up',
)

let failed = false
for (const r of rows) {
  if ('unavailable' in r) {
    failed = true
    console.log(`\n${r.store}: not run: ${r.unavailable}`)
    continue
  }
  const total = Object.values(r.actions).reduce((a, b) => a + b, 0)
  const mix = Object.entries(r.actions)
    .map(([action, n]) => `${action} ${((100 * n) / total).toFixed(1)} %`)
    .join(', ')
  console.log(`\n${r.store} (seed ${r.seed}): ${total} actions: ${mix}`)
  console.log(
    `  sessions at the end: ${r.liveSessions} held by the browsers (${r.anonymousSessions} ` +
      `not logged in), ${r.storeRecords} in the store`,
  )
  if (r.failures.length === 0) continue
  failed = true
  for (const failure of r.failures) console.log(`  FAILED: ${failure}`)
  for (const example of r.examples) console.log(`    ${example}`)
}
process.exitCode = failed ? 1 : 0
