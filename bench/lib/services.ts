/**
 * Redis and PostgreSQL for the benchmarks: whether they answer, and removing exactly what a run
 * created (its Redis keys by prefix, its Postgres schema, its SQLite folder). Never FLUSHALL.
 * @module
 */
import { rmSync } from 'node:fs'
import { databaseUrl, dataDir, pgSchema, redisRunPattern, redisUrl } from './config.js'
import { type SystemSpec, systems } from './systems.js'

export async function redisUp(): Promise<boolean> {
  const { createClient } = await import('redis')
  const client = createClient({
    url: redisUrl,
    socket: { connectTimeout: 1000, reconnectStrategy: false },
  })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return true
  } catch {
    return false
  } finally {
    if (client.isOpen) await client.close().catch(() => {})
  }
}

/** Whether `REDIS_CLUSTER_URL` names a Redis Cluster that answers. */
export async function redisClusterUp(): Promise<boolean> {
  const url = process.env.REDIS_CLUSTER_URL
  if (!url) return false
  const { createRedisStore } = await import('../../src/stores/redis.js')
  const store = createRedisStore({ url, timeout: 3 })
  try {
    await store.get('bench-probe')
    return true
  } catch {
    return false
  } finally {
    await store.close()
  }
}

export async function postgresUp(): Promise<boolean> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** Deletes the Redis keys of a run (SCAN + UNLINK on its own prefix); returns how many. */
export async function cleanRedis(runId: string): Promise<number> {
  const { createClient } = await import('redis')
  const client = createClient({
    url: redisUrl,
    socket: { connectTimeout: 1000, reconnectStrategy: false },
  })
  client.on('error', () => {})
  let removed = 0
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [next, keys] = (await client.sendCommand([
        'SCAN',
        cursor,
        'MATCH',
        redisRunPattern(runId),
        'COUNT',
        '1000',
      ])) as [string, string[]]
      cursor = next
      if (keys.length > 0) {
        await client.sendCommand(['UNLINK', ...keys])
        removed += keys.length
      }
    } while (cursor !== '0')
  } catch {
    // Redis is not there: nothing of ours is either.
  } finally {
    if (client.isOpen) await client.close().catch(() => {})
  }
  return removed
}

/** Drops the Postgres schema of a run. */
export async function cleanPostgres(runId: string): Promise<void> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${pgSchema(runId)}" CASCADE`)
  } catch {
    // Postgres is not there: nothing of ours is either.
  } finally {
    await client.end().catch(() => {})
  }
}

export function cleanFiles(runId: string): void {
  rmSync(dataDir(runId), { recursive: true, force: true })
}

export async function cleanAll(runId: string): Promise<void> {
  await Promise.all([cleanRedis(runId), cleanPostgres(runId)])
  cleanFiles(runId)
}

/**
 * The systems a `--<flag> id,id…` list names, or `fallback` without one. An unknown id ends the
 * process with status 2, naming the known ones.
 */
export function pickSystems(
  ids: string | undefined,
  flag: string,
  fallback: SystemSpec[],
): SystemSpec[] {
  if (!ids) return fallback
  const list = ids.split(',')
  for (const id of list) {
    if (!systems.some((s) => s.id === id)) {
      console.error(`--${flag}: no system "${id}"; known: ${systems.map((s) => s.id).join(', ')}`)
      process.exit(2)
    }
  }
  return systems.filter((s) => list.includes(s.id))
}

/**
 * The systems whose services answer (and whose app is built, for Next), and a note for each
 * left out.
 */
export async function reachable(
  chosen: SystemSpec[],
): Promise<{ chosen: SystemSpec[]; skipped: string[] }> {
  const services = {
    redis: await redisUp(),
    postgres: await postgresUp(),
    'redis-cluster': await redisClusterUp(),
  }
  // The Next systems serve an app `next build` makes: built now when it is missing or stale.
  const nextApp = chosen.some((s) => s.framework === 'next')
    ? await (await import('./next-app.js')).prepareNextApp()
    : null
  const skipped: string[] = []
  const kept = chosen.filter((s) => {
    if (s.needs && !services[s.needs]) {
      skipped.push(`${s.id} (${s.needs} is not reachable)`)
      return false
    }
    if (s.framework === 'next' && nextApp !== null) {
      skipped.push(`${s.id} (${nextApp})`)
      return false
    }
    return true
  })
  return { chosen: kept, skipped }
}
