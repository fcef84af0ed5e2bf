/**
 * Helpers for suites that need a real Redis or PostgreSQL. Without the service a suite is
 * skipped with a one-line reason; under `CI=true` it fails with that reason instead.
 * @module
 */
import { describe, it } from 'vitest'

/** The Redis the suites use: `REDIS_URL`, or the default port on loopback. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * The PostgreSQL the suites use: `DATABASE_URL`, or database `test` on loopback as `postgres`,
 * the role every fresh install (and the official Docker image) has, with trust auth.
 */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Null when Redis answers PING at `url`, else a one-line reason. */
export async function redisAvailable(url: string = REDIS_URL): Promise<string | null> {
  const { createClient } = await import('redis')
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1000, reconnectStrategy: false },
  })
  client.on('error', () => {})
  try {
    await withTimeout(client.connect(), 1500)
    await withTimeout(client.ping(), 1000)
    return null
  } catch (error) {
    return `Redis is not reachable at ${redact(url)} (${oneLine(error)}); start it or set REDIS_URL`
  } finally {
    if (client.isOpen) client.destroy()
  }
}

/**
 * Null once the Redis Cluster of `REDIS_CLUSTER_URL` (the suite's own, started by the global
 * setup, unless set beforehand) serves every slot with every replica in sync, else a one-line
 * reason.
 */
export async function redisClusterAvailable(): Promise<string | null> {
  const { redisClusterAvailable: tools, portsOf, waitHealthy } = await import('./redis-cluster.js')
  const url = process.env.REDIS_CLUSTER_URL
  if (!url) return tools() ?? 'REDIS_CLUSTER_URL is not set and no local cluster was started'
  try {
    await waitHealthy(portsOf(url), 20_000)
    return null
  } catch (error) {
    return `no whole Redis Cluster at ${redact(url)} (${oneLine(error)})`
  }
}

/** Null when PostgreSQL answers a query at `url`, else a one-line reason. */
export async function postgresAvailable(url: string = DATABASE_URL): Promise<string | null> {
  const { default: pg } = await import('pg')
  // A backend is a forked process: on a busy machine a connect can take over a second.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  client.on('error', () => {})
  try {
    await withTimeout(client.connect(), 3500)
    await withTimeout(client.query('SELECT 1'), 1000)
    return null
  } catch (error) {
    return `PostgreSQL is not reachable at ${redact(url)} (${oneLine(error)}); start it or set DATABASE_URL`
  } finally {
    client.end().catch(() => {})
  }
}

/**
 * A `describe` for a suite that needs a service. `reason` is what `redisAvailable` or
 * `postgresAvailable` returns: null (run the suite), a reason (skip it, or fail under
 * `CI=true`), or the promise of one.
 * @example
 * ```ts
 * const reason = await redisAvailable()
 * describeService('redis', reason, () => { ... })
 * ```
 */
export function describeService(
  name: string,
  reason: string | null | Promise<string | null>,
  fn: () => void,
): void {
  if (reason instanceof Promise) {
    describe(name, async () => declare(`${name} suite`, await reason, fn))
  } else if (reason === null) {
    describe(name, fn)
  } else {
    describe(name, () => declare(`${name} suite`, reason, fn))
  }
}

/** Runs `fn`, or in its place a skipped suite (a failing test under `CI=true`) saying why. */
function declare(what: string, reason: string | null, fn: () => void): void {
  if (reason === null) {
    fn()
  } else if (process.env.CI === 'true') {
    it(`has its service (a skipped ${what} fails under CI=true)`, () => {
      throw new Error(`${what}: ${reason}`)
    })
  } else {
    console.warn(`[tessera] skipping the ${what}: ${reason}`)
    describe.skip(`skipped: ${reason}`, fn)
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

function oneLine(error: unknown): string {
  const message =
    error instanceof AggregateError && error.errors.length > 0
      ? oneLine(error.errors[0])
      : error instanceof Error
        ? error.message || error.name
        : String(error)
  return message.replace(/\s+/g, ' ').trim()
}

/** The URL without its password. */
function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}
