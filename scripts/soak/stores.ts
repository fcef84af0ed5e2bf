/**
 * The stores the soak runs the demo on. Each run gets a place of its own, so it never meets
 * another run or test suite: a temp folder for SQLite and files, a key prefix in Redis, a
 * database of its own in PostgreSQL (the demo's `SESSION_STORE=postgres://…` always uses the
 * default table, so only a separate database keeps it apart). `cleanup` removes it all.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createFileStore } from '../../src/stores/file.js'
import { createPostgresStore } from '../../src/stores/postgres.js'
import { createRedisStore } from '../../src/stores/redis.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import type { Store } from '../../src/stores/types.js'
import { PrivatePgBouncer, pgbouncerAvailable } from '../../test/support/pgbouncer.js'
import {
  DATABASE_URL,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  redisClusterAvailable,
} from '../../test/support/services.js'

/** A store prepared for one soak run. */
export interface SoakStore {
  /** Added to the demo server's environment: `SESSION_STORE` and what goes with it. */
  env: Record<string, string>
  /** The same store, opened in this process to read what it holds. */
  open(): Store
  /** Removes what the run left (the caller closes what `open` returned). */
  cleanup(): Promise<void>
}

/** A kind of store the soak can run on. */
export interface SoakStoreKind {
  name: string
  /** Null when the store can be used here, else why not. */
  unavailable(): Promise<string | null>
  /** Prepares a fresh store; `dir` is the run's temp folder. */
  prepare(dir: string): Promise<SoakStore>
}

const runId = () => `tessera_soak_${randomBytes(5).toString('hex')}`

/**
 * The memory store is not here: it lives inside the demo process, so this process could not
 * compare its records with the sessions the browsers hold.
 */
export const soakStores: readonly SoakStoreKind[] = [
  {
    name: 'sqlite',
    unavailable: async () => null,
    prepare: async (dir) => {
      const path = join(dir, 'sessions.db')
      return {
        env: { SESSION_STORE: `sqlite:${path}` },
        open: () => createSqliteStore({ path }),
        cleanup: async () => {},
      }
    },
  },
  {
    name: 'file',
    unavailable: async () => null,
    prepare: async (dir) => {
      const sessions = join(dir, 'sessions')
      return {
        env: { SESSION_STORE: `file:${sessions}` },
        open: () => createFileStore({ dir: sessions }),
        cleanup: async () => {},
      }
    },
  },
  {
    name: 'redis',
    unavailable: () => redisAvailable(),
    prepare: async () => {
      const prefix = `${runId()}:`
      return {
        env: { SESSION_STORE: REDIS_URL, REDIS_PREFIX: prefix },
        open: () => createRedisStore({ url: REDIS_URL, prefix }),
        cleanup: async () => {
          const store = createRedisStore({ url: REDIS_URL, prefix })
          try {
            await store.clear?.()
          } finally {
            await store.close?.()
          }
        },
      }
    },
  },
  {
    name: 'redis-cluster',
    unavailable: () => redisClusterAvailable(),
    prepare: async () => redisCluster(process.env.REDIS_CLUSTER_URL!),
  },
  {
    name: 'postgres',
    unavailable: () => postgresAvailable(),
    prepare: async () => {
      const { connectionString, drop } = await ownDatabase()
      return {
        env: { SESSION_STORE: connectionString },
        open: () => createPostgresStore({ connectionString }),
        cleanup: drop,
      }
    },
  },
  {
    // The demo reaches PostgreSQL through PgBouncer in transaction mode; this process reads
    // the table directly. The URL form cannot give `statementTimeout: false`, so the pooler
    // ignores the parameter and sets the timeout on its server connections itself.
    name: 'pgbouncer',
    unavailable: async () => (await postgresAvailable()) ?? pgbouncerAvailable(),
    prepare: async () => {
      const { database, connectionString, drop } = await ownDatabase()
      const bouncer = await PrivatePgBouncer.start({
        poolMode: 'transaction',
        poolSize: 5,
        ignoreStartupParameters: ['statement_timeout'],
        connectQuery: 'SET statement_timeout = 1000',
      })
      return {
        env: { SESSION_STORE: bouncer.url(database) },
        open: () => createPostgresStore({ connectionString }),
        cleanup: async () => {
          await bouncer.stop()
          await drop()
        },
      }
    },
  },
]

/** A fresh key prefix on the Redis Cluster at `url`. */
export function redisCluster(url: string, env: Record<string, string> = {}): SoakStore {
  const prefix = `${runId()}:`
  return {
    env: { SESSION_STORE: url, REDIS_PREFIX: prefix, ...env },
    open: () => createRedisStore({ url, prefix }),
    cleanup: async () => {
      const store = createRedisStore({ url, prefix })
      try {
        await store.clear?.()
      } finally {
        await store.close?.()
      }
    },
  }
}

/** A database of the run's own in the suites' PostgreSQL, and how to drop it. */
async function ownDatabase(): Promise<{
  database: string
  connectionString: string
  drop(): Promise<void>
}> {
  const database = runId()
  await admin(`CREATE DATABASE ${database}`)
  const url = new URL(DATABASE_URL)
  url.pathname = `/${database}`
  return {
    database,
    connectionString: url.toString(),
    // FORCE: a server killed mid-run may leave its connections open for a moment.
    drop: () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
  }
}

/** Runs one statement in the suites' PostgreSQL database. */
async function admin(sql: string): Promise<void> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
