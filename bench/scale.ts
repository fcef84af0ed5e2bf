/**
 * `npm run bench:scale`: each server-side store filled with 10,000, 100,000 and 1,000,000
 * sessions (spread over 10,000 users; one in ten already expired), measuring through the store
 * API at each size: a read, a write, a create, listing one user's sessions, and pruning the
 * expired ones while reads keep running (how long the longest read waits). Reports heap per
 * session for the memory store and bytes per session on disk for SQLite and the file store.
 *
 * Filling goes through the store API where that is quick (memory), and in bulk elsewhere: one
 * SQLite transaction, Redis pipelines, one Postgres INSERT … SELECT, plain file writes in the
 * file store's format. What is measured always goes through the store API.
 *
 *   npm run bench:scale                       # up to 1,000,000 (the file store up to 100,000)
 *   npm run bench:scale -- --max 100000       # smaller and quicker
 *   npm run bench:scale -- --stores sqlite,redis --file-max 1000000
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Store, StoredSession } from '../src/stores/types.js'
import { databaseUrl, newRunId, pgSchema, redisPrefix, redisUrl } from './lib/config.js'
import { resultsDir } from './lib/paths.js'
import { cleanPostgres, cleanRedis, postgresUp, redisUp } from './lib/services.js'

const { values: flags } = parseArgs({
  options: {
    max: { type: 'string', default: '1000000' },
    'file-max': { type: 'string', default: '100000' },
    stores: { type: 'string', default: 'memory,sqlite,redis,postgres,file' },
    samples: { type: 'string', default: '2000' },
  },
})
const max = Number(flags.max)
const fileMax = Math.min(max, Number(flags['file-max']))
const samples = Number(flags.samples)
const users = 10_000
const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= max)
if (sizes.length === 0 || sizes[sizes.length - 1]! < max) sizes.push(max)
const runId = newRunId()
const dir = join(tmpdir(), `tessera-bench-scale-${runId}`)

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const userAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const day = 86_400_000

/** The session number `i` of a fill: its key, its user, and whether it is already expired. */
function keyOf(i: number): string {
  return createHash('sha256').update(`scale-${runId}-${i}`).digest('base64url')
}
function userOf(i: number): string {
  return `user-${i % users}`
}
function recordOf(i: number, t: number): StoredSession {
  const expired = i % 10 === 9
  return {
    data: { username: JSON.stringify(userOf(i)), theme: '"dark"' },
    userId: userOf(i),
    createdAt: t - 3_600_000 + (i % 3_600_000),
    lastSeenAt: t - 60_000,
    expiresAt: expired ? t - 1000 : t + 30 * day,
    permanent: false,
    userAgent,
    ip: '127.0.0.1',
  }
}

interface Harness {
  name: string
  store: Store
  /** Adds sessions [from, to). */
  fill(from: number, to: number): Promise<void>
  /** Bytes per session on disk (or in the heap), where it can be told. */
  footprint?(count: number): Promise<{ label: string; bytes: number }>
  close(): Promise<void>
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

/** Runs `op` `n` times, one at a time; latencies in ms. */
async function timeOps(n: number, op: (i: number) => Promise<unknown>) {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await op(i)
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) }
}

/** A live session number below `count` (one not ending in 9). */
function liveIndex(count: number): number {
  for (;;) {
    const i = Math.floor(Math.random() * count)
    if (i % 10 !== 9) return i
  }
}

interface Row {
  store: string
  sessions: number
  read_p50_ms: number
  read_p99_ms: number
  write_p50_ms: number
  write_p99_ms: number
  create_p50_ms: number
  list_p50_ms: number
  list_p99_ms: number
  sessions_per_user: number
  fill_s: number
  footprint: string | null
  bytes_per_session: number | null
  prune?: {
    removed: number
    seconds: number
    batches: number
    worst_read_ms: number
    reads: number
  }
}

async function measure(h: Harness, count: number, fillSeconds: number): Promise<Row> {
  const t = Date.now()
  const n = Math.min(samples, count)
  // Warm the code paths first.
  await timeOps(100, () => h.store.get(keyOf(liveIndex(count))))
  const read = await timeOps(n, () => h.store.get(keyOf(liveIndex(count))))
  const write = await timeOps(n, () =>
    h.store.update(keyOf(liveIndex(count)), {
      set: { visits: String(Date.now()) },
      lastSeenAt: Date.now(),
      expiresAt: Date.now() + 30 * day,
    }),
  )
  const extra = randomBytes(4).toString('hex')
  const create = await timeOps(Math.min(n, 500), (i) =>
    h.store.create(createHash('sha256').update(`extra-${extra}-${i}`).digest('base64url'), {
      ...recordOf(i, t),
      userId: null,
      expiresAt: t + 30 * day,
    }),
  )
  const list = await timeOps(Math.min(n, 500), () =>
    h.store.listByUser!(`user-${Math.floor(Math.random() * users)}`),
  )
  const footprint = h.footprint ? await h.footprint(count) : null
  return {
    store: h.name,
    sessions: count,
    read_p50_ms: read.p50,
    read_p99_ms: read.p99,
    write_p50_ms: write.p50,
    write_p99_ms: write.p99,
    create_p50_ms: create.p50,
    list_p50_ms: list.p50,
    list_p99_ms: list.p99,
    sessions_per_user: Math.round((count * 0.9) / users),
    fill_s: fillSeconds,
    footprint: footprint?.label ?? null,
    bytes_per_session: footprint ? Math.round(footprint.bytes) : null,
  }
}

/** Prunes the expired sessions while a reader keeps reading; the longest read is the stall. */
async function pruneUnderLoad(h: Harness, count: number): Promise<NonNullable<Row['prune']>> {
  let stop = false
  let worst = 0
  let reads = 0
  const reader = (async () => {
    while (!stop) {
      const t0 = performance.now()
      await h.store.get(keyOf(liveIndex(count)))
      worst = Math.max(worst, performance.now() - t0)
      reads++
      // A request every millisecond or so, as a server under light load would see.
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  })()
  let batches = 0
  const t0 = performance.now()
  const removed = await h.store.prune!({ onProgress: () => batches++ })
  const seconds = (performance.now() - t0) / 1000
  stop = true
  await reader
  return { removed, seconds, batches, worst_read_ms: worst, reads }
}

// ---------------------------------------------------------------------------------------------
// The stores.

async function memoryHarness(): Promise<Harness> {
  const { createMemoryStore } = await import('../src/stores/memory.js')
  const store = createMemoryStore({ maxSessions: 2_000_000, sweepInterval: 0 })
  gc()
  const base = process.memoryUsage().heapUsed
  return {
    name: 'memory',
    store,
    async fill(from, to) {
      const t = Date.now()
      for (let i = from; i < to; i++) await store.create(keyOf(i), recordOf(i, t))
    },
    async footprint(count) {
      gc()
      gc()
      // The extra sessions `measure` creates are few (≤ 500) next to `count`.
      return { label: 'heap', bytes: (process.memoryUsage().heapUsed - base) / count }
    },
    async close() {
      await store.clear?.()
      await store.close?.()
    },
  }
}

async function sqliteHarness(): Promise<Harness> {
  const { default: Sqlite } = await import('better-sqlite3')
  const { createSqliteStore } = await import('../src/stores/sqlite.js')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'sessions.db')
  const db = new Sqlite(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  const store = createSqliteStore({ db })
  await store.migrate?.()
  const insert = db.prepare(
    `INSERT INTO tessera_sessions
       (key, data, user_id, created_at, last_seen_at, expires_at, permanent, user_agent, ip)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const fillBatch = db.transaction((from: number, to: number, t: number) => {
    for (let i = from; i < to; i++) {
      const s = recordOf(i, t)
      insert.run(
        keyOf(i),
        JSON.stringify(s.data),
        s.userId,
        s.createdAt,
        s.lastSeenAt,
        s.expiresAt,
        0,
        s.userAgent,
        s.ip,
      )
    }
  })
  return {
    name: 'sqlite',
    store,
    async fill(from, to) {
      const t = Date.now()
      for (let i = from; i < to; i += 50_000) fillBatch(i, Math.min(to, i + 50_000), t)
    },
    async footprint(count) {
      db.pragma('wal_checkpoint(TRUNCATE)')
      const size = statSync(path).size
      return { label: 'disk (db file)', bytes: size / count }
    },
    async close() {
      await store.close?.()
      db.close()
    },
  }
}

async function redisHarness(): Promise<Harness> {
  const { createClient } = await import('redis')
  const { createRedisStore } = await import('../src/stores/redis.js')
  const prefix = redisPrefix(runId, 'scale')
  const client = createClient({ url: redisUrl })
  await client.connect()
  const store = createRedisStore({ url: redisUrl, prefix })
  const usedMemory = async () => {
    const info = String(await client.sendCommand(['INFO', 'memory']))
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN)
  }
  const base = await usedMemory()
  return {
    name: 'redis',
    store,
    async fill(from, to) {
      const t = Date.now()
      for (let start = from; start < to; start += 2000) {
        const pending: Promise<unknown>[] = []
        for (let i = start; i < Math.min(to, start + 2000); i++) {
          const s = recordOf(i, t)
          // The store's layout (see src/stores/redis.ts); expired ones are left to Redis.
          if (s.expiresAt <= t) continue
          const key = keyOf(i)
          const hash = `${prefix}s:{${key}}`
          pending.push(
            client.sendCommand([
              'HSET',
              hash,
              'd:username',
              s.data.username!,
              'd:theme',
              s.data.theme!,
              'm:c',
              String(s.createdAt),
              'm:l',
              String(s.lastSeenAt),
              'm:e',
              String(s.expiresAt),
              'm:p',
              '0',
              'm:u',
              s.userId!,
              'm:a',
              s.userAgent!,
              'm:i',
              s.ip!,
            ]),
            client.sendCommand(['PEXPIREAT', hash, String(s.expiresAt)]),
            client.sendCommand(['ZADD', `${prefix}u:{${s.userId}}`, String(s.createdAt), key]),
          )
        }
        await Promise.all(pending)
      }
    },
    async footprint(count) {
      // Redis is shared with whatever else uses it: the growth since the fill began, per live
      // session (expired ones were never written), with the user indexes.
      return { label: 'Redis memory', bytes: ((await usedMemory()) - base) / (count * 0.9) }
    },
    async close() {
      await store.close?.()
      await client.close()
      await cleanRedis(runId)
    },
  }
}

async function postgresHarness(): Promise<Harness> {
  const { default: pg } = await import('pg')
  const { createPostgresStore } = await import('../src/stores/postgres.js')
  const schema = pgSchema(runId)
  const store = createPostgresStore({ connectionString: databaseUrl, schema })
  await store.migrate?.()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const table = `"${schema}"."tessera_sessions"`
  return {
    name: 'postgres',
    store,
    async fill(from, to) {
      const t = Date.now()
      // The keys are the same SHA-256 as keyOf(), made by Postgres from the same text.
      await client.query(
        `INSERT INTO ${table} (key, data, user_id, created_at, last_seen_at, expires_at, permanent, user_agent, ip)
         SELECT rtrim(translate(encode(sha256(convert_to($1 || i::text, 'UTF8')), 'base64'), '+/', '-_'), '='),
                jsonb_build_object('username', to_json('user-' || (i % ${users}))::text, 'theme', '"dark"'),
                'user-' || (i % ${users}),
                $2::bigint - 3600000 + (i % 3600000),
                $2::bigint - 60000,
                CASE WHEN i % 10 = 9 THEN $2::bigint - 1000 ELSE $2::bigint + ${30 * day} END,
                false, $3, '127.0.0.1'
         FROM generate_series($4::int, $5::int - 1) AS i`,
        [`scale-${runId}-`, t, userAgent, from, to],
      )
      await client.query(`ANALYZE ${table}`)
    },
    async footprint(count) {
      const { rows } = await client.query<{ size: string }>(
        `SELECT pg_total_relation_size('${table}') AS size`,
      )
      return { label: 'disk (table + indexes)', bytes: Number(rows[0]?.size) / count }
    },
    async close() {
      await store.close?.()
      await client.end()
      await cleanPostgres(runId)
    },
  }
}

async function fileHarness(): Promise<Harness> {
  const { createFileStore } = await import('../src/stores/file.js')
  const folder = join(dir, 'files')
  const store = createFileStore({ dir: folder })
  // The store makes its folders on first use.
  await store.get(keyOf(0))
  return {
    name: 'file',
    store,
    async fill(from, to) {
      const t = Date.now()
      const known = new Set<string>()
      // The store's own format (see src/stores/file.ts), written without its fsync per file.
      const write = async (i: number) => {
        const s = recordOf(i, t)
        const key = keyOf(i)
        const marker = join(
          folder,
          'users',
          createHash('sha256').update(s.userId!).digest('base64url'),
        )
        if (!known.has(marker)) {
          await mkdir(marker, { recursive: true, mode: 0o700 })
          known.add(marker)
        }
        await writeFile(join(marker, key), '')
        await writeFile(join(folder, `${key}.json`), JSON.stringify(s), { mode: 0o600 })
      }
      for (let start = from; start < to; start += 256) {
        const batch: Promise<void>[] = []
        for (let i = start; i < Math.min(to, start + 256); i++) batch.push(write(i))
        await Promise.all(batch)
      }
    },
    async footprint(count) {
      let blocks = 0
      for (const name of readdirSync(folder)) {
        if (name.endsWith('.json')) blocks += statSync(join(folder, name)).blocks * 512
      }
      return { label: 'disk (allocated blocks of session files)', bytes: blocks / count }
    },
    async close() {
      await store.close?.()
      rmSync(folder, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------------------------------------

const makers: Record<string, () => Promise<Harness>> = {
  memory: memoryHarness,
  sqlite: sqliteHarness,
  redis: redisHarness,
  postgres: postgresHarness,
  file: fileHarness,
}

const wanted = (flags.stores ?? '').split(',').filter((s) => s in makers)
const up = { redis: await redisUp(), postgres: await postgresUp() }
const rows: Row[] = []
const notes: string[] = []
const started = Date.now()

console.log(
  `tessera scale: sizes ${sizes.map((s) => s.toLocaleString('en-US')).join(', ')} over ` +
    `${users.toLocaleString('en-US')} users (one session in ten expired); ${samples} timed ` +
    `calls per measure; Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
)
if (fileMax < max && wanted.includes('file')) {
  notes.push(
    `the file store stops at ${fileMax.toLocaleString('en-US')} sessions (a file each, plus a ` +
      'marker per user index entry); --file-max raises it',
  )
  console.log(`note: ${notes[notes.length - 1]}`)
}

process.on('SIGINT', () => {
  console.error('\ninterrupted: removing this run’s keys, schema and files')
  Promise.all([cleanRedis(runId), cleanPostgres(runId)]).finally(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(130)
  })
})

try {
  for (const name of wanted) {
    if ((name === 'redis' || name === 'postgres') && !up[name]) {
      notes.push(`${name}: skipped, not reachable`)
      console.log(`${name}: skipped, not reachable`)
      continue
    }
    const h = await makers[name]!()
    try {
      let filled = 0
      const limit = name === 'file' ? fileMax : max
      for (const size of sizes.filter((s) => s <= limit)) {
        const t0 = performance.now()
        await h.fill(filled, size)
        const fillSeconds = (performance.now() - t0) / 1000
        filled = size
        const row = await measure(h, size, Math.round(fillSeconds * 10) / 10)
        rows.push(row)
        console.log(
          `  ${name.padEnd(8)} ${size.toLocaleString('en-US').padStart(9)}  ` +
            `read ${fmt(row.read_p50_ms)}/${fmt(row.read_p99_ms)}  write ${fmt(row.write_p50_ms)}/${fmt(row.write_p99_ms)}  ` +
            `create ${fmt(row.create_p50_ms)}  list(${row.sessions_per_user}) ${fmt(row.list_p50_ms)}/${fmt(row.list_p99_ms)} ms (p50/p99)` +
            `${row.bytes_per_session === null ? '' : `  ${row.bytes_per_session} B/session ${row.footprint}`}` +
            `  [fill ${row.fill_s} s]`,
        )
      }
      const last = rows[rows.length - 1]!
      last.prune = await pruneUnderLoad(h, filled)
      console.log(
        `  ${name.padEnd(8)} prune: ${last.prune.removed.toLocaleString('en-US')} expired removed in ` +
          `${last.prune.seconds.toFixed(2)} s, ${last.prune.batches} batch(es); longest read meanwhile ` +
          `${fmt(last.prune.worst_read_ms)} ms over ${last.prune.reads} reads`,
      )
    } finally {
      await h.close()
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

function fmt(ms: number): string {
  return ms < 1 ? ms.toFixed(3) : ms.toFixed(2)
}

mkdirSync(resultsDir, { recursive: true })
writeFileSync(
  join(resultsDir, 'scale.json'),
  `${JSON.stringify({ date: new Date().toISOString(), sizes, users, notes, rows }, null, 2)}\n`,
)

// Flatness: the p50 at the largest size over the p50 at the smallest, per store.
console.log('\nflat? p50 at the largest size over the p50 at 10,000 (1.0 = flat):')
for (const name of wanted) {
  const mine = rows.filter((r) => r.store === name)
  const first = mine[0]
  const last = mine[mine.length - 1]
  if (!first || !last || first === last) continue
  const ratio = (a: number, b: number) => (a / b).toFixed(2)
  console.log(
    `  ${name.padEnd(8)} ${first.sessions.toLocaleString('en-US')} → ${last.sessions.toLocaleString('en-US')}: ` +
      `read ×${ratio(last.read_p50_ms, first.read_p50_ms)}, write ×${ratio(last.write_p50_ms, first.write_p50_ms)}, ` +
      `list ${fmt(last.list_p50_ms)} ms for ${last.sessions_per_user} sessions ` +
      `(${last.list_p99_ms < 1 ? 'under' : 'OVER'} 1 ms at p99)`,
  )
}
console.log(
  `\nrows: bench/results/scale.json (${((Date.now() - started) / 60_000).toFixed(1)} min)` +
    `${notes.length > 0 ? `\nnotes: ${notes.join('; ')}` : ''}`,
)
