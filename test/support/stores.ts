/**
 * Every server-side store, made fresh for one test run: a temp folder, a temp SQLite file, a
 * Redis key prefix or a PostgreSQL schema of its own, removed again by `cleanup`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFileStore } from '../../src/stores/file.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { createPostgresStore } from '../../src/stores/postgres.js'
import { createRedisStore } from '../../src/stores/redis.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import type { Store } from '../../src/stores/types.js'
import {
  DATABASE_URL,
  postgresAvailable,
  REDIS_URL,
  redisAvailable,
  redisClusterAvailable,
} from './services.js'

/** A store for one test run, and how to remove what it left. */
export interface TestStore {
  store: Store
  cleanup(): Promise<void>
}

/** A way to make one kind of store, and why it cannot be made here (null when it can). */
export interface StoreKind {
  name: string
  unavailable: () => Promise<string | null>
  make: () => Promise<TestStore>
}

const run = () => `tessera_test_${randomBytes(5).toString('hex')}`

/** The five stores, Redis twice: one server and a cluster. */
export const storeKinds: StoreKind[] = [
  {
    name: 'memory',
    unavailable: async () => null,
    make: async () => {
      const store = createMemoryStore()
      return { store, cleanup: async () => store.close?.() }
    },
  },
  {
    name: 'file',
    unavailable: async () => null,
    make: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-file-'))
      const store = createFileStore({ dir })
      return {
        store,
        cleanup: async () => {
          await store.close?.()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
  {
    name: 'sqlite',
    unavailable: async () => null,
    make: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'))
      const store = createSqliteStore({ path: join(dir, 'sessions.db') })
      return {
        store,
        cleanup: async () => {
          await store.close?.()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
  {
    name: 'redis',
    unavailable: () => redisAvailable(),
    make: async () => {
      const store = createRedisStore({ url: REDIS_URL, prefix: `${run()}:` })
      return {
        store,
        cleanup: async () => {
          await store.clear?.()
          await store.close?.()
        },
      }
    },
  },
  {
    name: 'redis-cluster',
    unavailable: () => redisClusterAvailable(),
    make: async () => {
      const url = process.env.REDIS_CLUSTER_URL!
      const store = createRedisStore({ url, prefix: `${run()}:` })
      return {
        store,
        cleanup: async () => {
          await store.clear?.()
          await store.close?.()
        },
      }
    },
  },
  {
    name: 'postgres',
    unavailable: () => postgresAvailable(),
    make: async () => {
      const schema = run()
      const store = createPostgresStore({ connectionString: DATABASE_URL, schema })
      return {
        store,
        cleanup: async () => {
          await store.close?.()
          const { default: pg } = await import('pg')
          const client = new pg.Client({ connectionString: DATABASE_URL })
          await client.connect()
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          await client.end()
        },
      }
    },
  },
]
