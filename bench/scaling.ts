/**
 * The figures of docs/scaling.md, measured on this machine:
 *
 * 1. What one request of the demo costs each store: Redis commands (an `INFO commandstats` diff
 *    on a redis-server of the run's own) and PostgreSQL statements (counted on the store's pool)
 *    per login, read and write.
 * 2. Bytes per session: `MEMORY USAGE` of a session's keys and the growth of `used_memory` in
 *    Redis; `pg_column_size` of a row and the table's size with its indexes per row.
 * 3. Requests per second of the demo (GET / with a login, autocannon in its own process) on
 *    one Redis, on PostgreSQL directly and through PgBouncer (transaction mode), behind HAProxy
 *    over three instances on Redis, and on a Redis Cluster when `--redis-cluster URL` is given.
 *
 *   npx tsx bench/scaling.ts [--seconds 5] [--connections 20] [--parts costs,bytes,rps]
 *                            [--redis-cluster redis-cluster://…]
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { createApp } from '../demo/app.js'
import { demoStoreSessions } from '../demo/config.js'
import { DemoClient } from '../demo/test-client.js'
import { createPostgresStore } from '../src/stores/postgres.js'
import { createRedisStore } from '../src/stores/redis.js'
import type { Store } from '../src/stores/types.js'
import { freePort, listen } from '../test/support/http.js'
import { PrivatePgBouncer } from '../test/support/pgbouncer.js'
import { PrivateRedis } from '../test/support/redis-server.js'
import { DATABASE_URL } from '../test/support/services.js'

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    sessions: { type: 'string', default: '10000' },
    'redis-cluster': { type: 'string' },
    parts: { type: 'string', default: 'costs,bytes,rps' },
  },
})
const secret = 'scaling-bench-secret-that-is-32-bytes'
const runId = `tessera_scaling_${randomBytes(4).toString('hex')}`
const redis = await PrivateRedis.start()
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
await admin.query(`CREATE DATABASE ${runId}`)
const dbUrl = new URL(DATABASE_URL)
dbUrl.pathname = `/${runId}`
const ownDb = dbUrl.toString()

const parts = new Set(flags.parts.split(','))
try {
  if (parts.has('costs')) {
    console.log('## Store calls per request (the demo, one browser)\n')
    const counted = await countRedis()
    const queried = await countPostgres()
    console.log('| request | Redis commands | PostgreSQL statements |\n|---|---|---|')
    for (const kind of ['login', 'read', 'write', 'logout'] as const) {
      console.log(`| ${kind} | ${counted[kind]} | ${queried[kind]} |`)
    }
  }
  if (parts.has('bytes')) {
    console.log('\n## Bytes per session\n')
    await bytesPerSession()
  }
  if (parts.has('rps')) {
    console.log('\n## Requests per second of the demo: GET / with a login\n')
    await requestsPerSecond()
  }
} finally {
  await redis.destroy()
  await admin.query(`DROP DATABASE IF EXISTS ${runId} WITH (FORCE)`)
  await admin.end()
}

type Kind = 'login' | 'read' | 'write' | 'logout'

/**
 * Runs a browser's visit through the demo app on `store` and asks `measure` for the store's
 * count before and after each request of interest.
 */
async function visit<T>(
  store: Store,
  measure: () => Promise<T>,
  diff: (before: T, after: T) => string,
): Promise<Record<Kind, string>> {
  const app = await listen(
    createServer(createApp(demoStoreSessions([secret], store), store.name, { secret: [secret] })),
  )
  const out = {} as Record<Kind, string>
  // The first visit opens the store's connections and loads its scripts: not a request's cost.
  for (const measured of [false, true]) {
    const browser = new DemoClient(app)
    const step = async (kind: Kind, request: () => Promise<unknown>) => {
      const before = await measure()
      await request()
      const after = await measure()
      if (measured) out[kind] = diff(before, after)
    }
    const token = await browser.csrf('/login')
    await step('login', () => browser.post('/login', { _csrf: token, username: 'dana' }))
    await browser.get('/') // shows and drops the welcome flash: a write of its own
    await step('read', () => browser.get('/'))
    const csrf = await browser.csrf('/')
    await step('write', () => browser.post('/notes', { _csrf: csrf, note: 'a note' }))
    await browser.get('/')
    const again = await browser.csrf('/')
    await step('logout', () => browser.post('/logout', { _csrf: again }))
  }
  await app.close()
  await store.close?.()
  return out
}

/**
 * Commands per request from MONITOR on the run's own redis-server. A command a Lua script runs
 * is shown there as `[0 lua]`: it is counted apart from the commands the store sent.
 */
async function countRedis(): Promise<Record<Kind, string>> {
  const monitor = spawn('redis-cli', ['-p', String(redis.port), 'MONITOR'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  let log = ''
  monitor.stdout.on('data', (chunk) => {
    log += chunk
  })
  let marks = 0
  // A marker command, seen in the log once MONITOR has shown everything before it.
  const mark = async () => {
    const id = `tessera-mark-${++marks}`
    execFileSync('redis-cli', ['-p', String(redis.port), 'ECHO', id])
    while (!log.includes(id)) await new Promise((resolve) => setTimeout(resolve, 10))
    return log.indexOf(id)
  }
  await mark()
  const out = await visit(createRedisStore({ url: redis.url }), mark, (from, to) => {
    const lines = log.slice(from, to).split('\n').slice(1, -1)
    const sent = new Map<string, number>()
    let scripted = 0
    for (const line of lines) {
      const name = /\] "([^"]+)"/.exec(line)?.[1]?.toLowerCase()
      if (!name) continue
      if (line.includes(' lua] ')) scripted++
      else sent.set(name, (sent.get(name) ?? 0) + 1)
    }
    const total = [...sent.values()].reduce((a, b) => a + b, 0)
    const parts = [...sent].map(([name, n]) => `${name} ${n}`).join(', ')
    return `${total} (${parts})${scripted ? `, + ${scripted} run inside scripts` : ''}`
  })
  monitor.kill()
  return out
}

/** Statements per request, counted on every connection of the store's pool. */
async function countPostgres(): Promise<Record<Kind, string>> {
  const counts = new Map<string, number>()
  const pool = new pg.Pool({ connectionString: ownDb, max: 4 })
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
      const config = args[0] as string | { text: string }
      const text = typeof config === 'string' ? config : config.text
      const verb = text.trim().split(/\s+/)[0]!.toUpperCase()
      counts.set(verb, (counts.get(verb) ?? 0) + 1)
      return query(...args)
    }
  })
  const store = createPostgresStore({ pool, schema: 'counted' })
  await store.migrate?.()
  const out = await visit(
    store,
    async () => new Map(counts),
    (before, after) => {
      const parts: string[] = []
      let total = 0
      for (const [verb, n0] of after) {
        const n = n0 - (before.get(verb) ?? 0)
        if (n > 0) parts.push(`${verb} ${n}`)
        total += n
      }
      return `${total} (${parts.join(', ')})`
    },
  )
  await pool.end()
  return out
}

/** A logged-in demo session with one note, as the store keeps it, copied `n` times. */
async function bytesPerSession(): Promise<void> {
  const n = Number(flags.sessions)
  const keep = createRedisStore({ url: redis.url, prefix: 'bytes:' })
  const app = await listen(
    createServer(createApp(demoStoreSessions([secret], keep), 'redis', { secret: [secret] })),
  )
  const browser = new DemoClient(app)
  await browser.login('dana')
  await browser.get('/')
  await browser.post('/notes', { _csrf: await browser.csrf('/'), note: 'a note' })
  await browser.get('/')
  await app.close()
  const [summary] = await keep.listByUser('dana')
  const sample = (await keep.get(summary!.key))!
  const cli = (...args: string[]) =>
    execFileSync('redis-cli', ['-p', String(redis.port), ...args])
      .toString()
      .trim()
  const sessionKey = `bytes:s:{${summary!.key}}`
  console.log(
    `A demo session after login and one note: ${Object.keys(sample.data).length} data keys, ` +
      `${JSON.stringify(sample.data).length} bytes of data as JSON.\n`,
  )
  const used = () => Number(/used_memory:(\d+)/.exec(cli('INFO', 'memory'))![1])
  const usedBefore = used()
  const stores: Store[] = [createRedisStore({ url: redis.url, prefix: 'fill:' })]
  const pgStore = createPostgresStore({ connectionString: ownDb, schema: 'bytes', timeout: 10 })
  stores.push(pgStore)
  for (const store of stores) {
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, (_, j) =>
          store.create(randomBytes(32).toString('base64url'), {
            ...sample,
            userId: `user-${i + j}`,
          }),
        ),
      )
    }
  }
  const usedAfter = used()
  const hash = Number(cli('MEMORY', 'USAGE', sessionKey, 'SAMPLES', '0'))
  const index = Number(cli('MEMORY', 'USAGE', 'bytes:u:{dana}', 'SAMPLES', '0'))
  const c = new pg.Client({ connectionString: ownDb })
  await c.connect()
  const { rows } = await c.query<{ row: string; total: string; heap: string; rows: string }>(
    `SELECT (SELECT avg(pg_column_size(t.*)) FROM bytes.tessera_sessions t) AS row,
            pg_total_relation_size('bytes.tessera_sessions') AS total,
            pg_relation_size('bytes.tessera_sessions') AS heap,
            (SELECT count(*) FROM bytes.tessera_sessions) AS rows`,
  )
  await c.end()
  const row = rows[0]!
  console.log('| | bytes per session |\n|---|---:|')
  console.log(`| Redis: MEMORY USAGE of the session's hash | ${hash} |`)
  console.log(`| Redis: MEMORY USAGE of its user's index (one session) | ${index} |`)
  console.log(
    `| Redis: used_memory growth over ${n} sessions, each with its index | ${Math.round((usedAfter - usedBefore) / n)} |`,
  )
  console.log(`| PostgreSQL: pg_column_size of a row | ${Math.round(Number(row.row))} |`)
  console.log(
    `| PostgreSQL: the table's heap per row (${row.rows} rows) | ${Math.round(Number(row.heap) / Number(row.rows))} |`,
  )
  console.log(
    `| PostgreSQL: table, TOAST and indexes per row | ${Math.round(Number(row.total) / Number(row.rows))} |`,
  )
  for (const store of [keep, ...stores]) await store.close?.()
}

/** The demo on each store, loaded with autocannon in a process of its own. */
async function requestsPerSecond(): Promise<void> {
  const bouncer = await PrivatePgBouncer.start({
    poolMode: 'transaction',
    poolSize: 10,
    ignoreStartupParameters: ['statement_timeout'],
    connectQuery: 'SET statement_timeout = 1000',
  })
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-scaling-'))
  const targets: [string, Record<string, string>, string[]][] = [
    ['one instance, one Redis', { SESSION_STORE: redis.url }, ['demo/server.ts']],
    ['one instance, PostgreSQL', { SESSION_STORE: ownDb }, ['demo/server.ts']],
    [
      'one instance, PgBouncer (transaction) → PostgreSQL',
      { SESSION_STORE: bouncer.url(runId) },
      ['demo/server.ts'],
    ],
    [
      'HAProxy → 3 instances, one Redis',
      { SESSION_STORE: redis.url },
      ['demo/cluster.ts', '--instances', '3'],
    ],
  ]
  if (flags['redis-cluster']) {
    targets.push([
      'one instance, Redis Cluster',
      { SESSION_STORE: flags['redis-cluster'] },
      ['demo/server.ts'],
    ])
  }
  console.log(
    `${flags.connections} connections, ${flags.seconds} s each, one after another.\n\n` +
      '| demo on | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|',
  )
  try {
    for (const [label, env, script] of targets) {
      const port = await freePort()
      const ports = [await freePort(), await freePort(), await freePort()]
      const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
        env: {
          ...process.env,
          ...env,
          PORT: String(port),
          PORTS: ports.join(','),
          SECRET_KEY: secret,
          DATA_DIR: dataDir,
          NODE_ENV: 'production',
          SESSION_COOKIE_SECURE: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
      try {
        await ready(child, port)
        const browser = new DemoClient(`http://127.0.0.1:${port}`)
        await browser.login('dana')
        await browser.get('/')
        const r = await autocannon(port, browser.cookie)
        console.log(
          `| ${label} | ${Math.round(r.requests / r.seconds)} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} |`,
        )
      } catch (error) {
        console.log(
          `| ${label} | failed: ${String(error).split('\n').slice(0, 3).join(' ')} | | | |`,
        )
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve))
          process.kill(-child.pid!, 'SIGTERM')
          await exited
        }
      }
    }
  } finally {
    await bouncer.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Waits until the demo (or the balancer) answers on `port`. */
async function ready(child: ChildProcess, port: number): Promise<void> {
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(output)
    const ok = await fetch(`http://127.0.0.1:${port}/login`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

interface LoadResult {
  requests: number
  seconds: number
  p50_ms: number
  p99_ms: number
  errors: number
}

function autocannon(port: number, cookie: string): Promise<LoadResult> {
  const job = {
    url: `http://127.0.0.1:${port}/`,
    method: 'GET',
    headers: { cookie },
    seconds: Number(flags.seconds),
    connections: Number(flags.connections),
  }
  return new Promise((resolve, reject) => {
    let out = ''
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/autocannon.ts', JSON.stringify(job)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    child.stdout.on('data', (c) => (out += c))
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(out)),
    )
  })
}
