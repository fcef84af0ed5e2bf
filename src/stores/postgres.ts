/**
 * A PostgreSQL store over `pg`. One row per session; the data is a jsonb object of tagged-JSON
 * strings, so `update` merges one request's keys in a single statement and concurrent requests
 * never overwrite each other's keys. The table and its indexes are created on first use.
 * @module
 */
import { createHash } from 'node:crypto'
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg'
import {
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type Store,
  type StoredSession,
} from './types.js'

/** Options of `createPostgresStore`. */
export interface PostgresStoreOptions {
  /**
   * A `pg.Pool` the app owns; the store never ends it. Give it a `statement_timeout` (about
   * `timeout`): the store bounds each call on the client side, but only the server can cancel a
   * statement that is waiting on a lock, so that it does not land after the call has failed.
   */
  pool?: Pool
  /** A connection string; the store makes (and ends) its own pool. */
  connectionString?: string
  /** The table name. @default 'tessera_sessions' */
  table?: string
  /** The schema of the table, created if missing. @default 'public' */
  schema?: string
  /** Milliseconds to get a connection, and again to run a statement, before failing. @default 1000 */
  timeout?: number
  /** The `application_name` of the store's own connections. @default 'tessera' */
  applicationName?: string
  /** The most connections of the store's own pool. @default 10 */
  max?: number
}

/**
 * A store that keeps sessions in a PostgreSQL table.
 * @example
 * ```ts
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL })
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions = {}): Store {
  const timeout = options.timeout ?? 1000
  if (!(Number.isFinite(timeout) && timeout > 0)) {
    throw new TypeError(`postgres store: timeout must be a positive number of ms, got ${timeout}`)
  }
  if (!options.pool && !options.connectionString) {
    throw new TypeError('postgres store: pass `pool` (a pg.Pool) or `connectionString`')
  }
  const tableName = options.table ?? 'tessera_sessions'
  const schema = options.schema ?? 'public'
  const table = `${ident(schema)}.${ident(tableName)}`
  // Prepared-statement names are per connection; the hash keeps two stores on one pool apart.
  const tag = createHash('sha256').update(`${schema}.${tableName}`).digest('hex').slice(0, 12)
  const ownsPool = options.pool === undefined
  let pool: Pool | null = options.pool ?? null
  let building: Promise<Pool> | null = null
  let migrated: Promise<void> | null = null
  let isMigrated = false
  let closed = false
  const watched = new WeakSet<PoolClient>()

  if (pool) {
    // An idle connection the server kills emits 'error' on the pool; unheard, it would crash.
    if (pool.listenerCount('error') === 0) pool.on('error', () => {})
  } else {
    const config = {
      connectionString: options.connectionString!,
      max: options.max ?? 10,
      connectionTimeoutMillis: timeout,
      idleTimeoutMillis: 30_000,
      // The server cancels a statement past the timeout, so a late write never lands…
      statement_timeout: timeout,
      // …and the client gives up a little later, should the server not answer at all.
      query_timeout: timeout + 250,
      application_name: options.applicationName ?? 'tessera',
    }
    building = import('pg').then(({ default: pg }) => {
      const p = new pg.Pool(config)
      p.on('error', () => {})
      pool = p
      return p
    })
    building.catch(() => {})
  }

  /** A pool client within `timeout`; one that arrives too late goes straight back. */
  async function acquire(): Promise<PoolClient> {
    if (closed) throw new Error('postgres store: the store is closed')
    const p = pool ?? (await building!)
    const pending = p.connect()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        pending.then(
          (c) => c.release(),
          () => {},
        )
        reject(new Error(`postgres did not give a connection within ${timeout} ms`))
      }, timeout)
    })
    try {
      const client = await Promise.race([pending, late])
      if (!watched.has(client)) {
        // A checked-out client whose backend dies emits 'error'; the query rejects anyway.
        client.on('error', () => {})
        watched.add(client)
      }
      return client
    } finally {
      clearTimeout(timer)
    }
  }

  /** Runs one statement on a pooled connection; a connection that failed is discarded. */
  async function query<R extends QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
    ms = timeout + 250,
  ): Promise<QueryResult<R>> {
    if (!isMigrated) await migrate()
    const client = await acquire()
    const config: QueryConfig & { query_timeout: number } = {
      name: `tessera_${name}_${tag}`,
      text,
      values,
      query_timeout: ms,
    }
    try {
      const result = await client.query<R>(config)
      client.release()
      return result
    } catch (error) {
      client.release(error instanceof Error ? error : true)
      throw error
    }
  }

  function migrate(): Promise<void> {
    migrated ??= createTable().then(
      () => {
        isMigrated = true
      },
      (error: unknown) => {
        migrated = null // try again on the next call
        throw error
      },
    )
    return migrated
  }

  /** Creates the schema, table and indexes, under a lock so two instances starting at once agree. */
  async function createTable(): Promise<void> {
    const client = await acquire()
    // DDL may wait behind another instance's migration: it gets more time than a request.
    const ms = Math.max(timeout * 5, 5000)
    const run = (text: string, values: unknown[] = []) => {
      const config: QueryConfig & { query_timeout: number } = { text, values, query_timeout: ms }
      return client.query(config)
    }
    try {
      await run('BEGIN')
      await run(`SET LOCAL statement_timeout = ${ms}`)
      await run('SELECT pg_advisory_xact_lock(hashtext($1))', [`tessera:${schema}.${tableName}`])
      const found = await run('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
      if (found.rowCount === 0) await run(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`)
      await run(`CREATE TABLE IF NOT EXISTS ${table} (
        key text PRIMARY KEY,
        data jsonb NOT NULL DEFAULT '{}'::jsonb,
        user_id text,
        created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        permanent boolean NOT NULL DEFAULT false,
        user_agent text,
        ip text
      )`)
      await run(
        `CREATE INDEX IF NOT EXISTS ${ident(`${tableName}_expires_at_idx`)} ON ${table} (expires_at)`,
      )
      await run(
        `CREATE INDEX IF NOT EXISTS ${ident(`${tableName}_user_id_idx`)} ON ${table} (user_id, created_at) WHERE user_id IS NOT NULL`,
      )
      await run('COMMIT')
      client.release()
    } catch (error) {
      // The connection may be mid-transaction: discard it rather than reuse it.
      client.release(error instanceof Error ? error : true)
      throw error
    }
  }

  const columns = 'data, user_id, created_at, last_seen_at, expires_at, permanent, user_agent, ip'

  return {
    name: 'postgres',

    async get(key) {
      const { rows } = await query<Row>(
        'get',
        `SELECT ${columns} FROM ${table} WHERE key = $1 AND expires_at > $2`,
        [key, Date.now()],
      )
      const row = rows[0]
      // jsonb that is not an object holds no session (and a spread would hide it as {}).
      if (!row || typeof row.data !== 'object' || row.data === null || Array.isArray(row.data)) {
        return null
      }
      return toSession(row)
    },

    async create(key, s) {
      await query(
        'create',
        `INSERT INTO ${table} (key, ${columns}) VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, user_id = EXCLUDED.user_id,
           created_at = EXCLUDED.created_at, last_seen_at = EXCLUDED.last_seen_at,
           expires_at = EXCLUDED.expires_at, permanent = EXCLUDED.permanent,
           user_agent = EXCLUDED.user_agent, ip = EXCLUDED.ip`,
        [
          key,
          JSON.stringify(s.data),
          s.userId,
          Math.round(s.createdAt),
          Math.round(s.lastSeenAt),
          Math.round(s.expiresAt),
          s.permanent,
          s.userAgent,
          s.ip,
        ],
      )
    },

    async update(key: string, patch: SessionPatch) {
      // One statement: the row lock serialises concurrent updates, and each one merges its
      // keys into the data as it is when the lock is granted.
      const { rowCount } = await query(
        'update',
        `UPDATE ${table} SET
           data = (CASE WHEN $2::boolean THEN '{}'::jsonb ELSE data - $3::text[] END) || $4::jsonb,
           user_id = CASE WHEN $5::boolean THEN $6::text ELSE user_id END,
           permanent = COALESCE($7::boolean, permanent),
           last_seen_at = COALESCE($8::bigint, last_seen_at),
           expires_at = COALESCE($9::bigint, expires_at)
         WHERE key = $1 AND expires_at > $10`,
        [
          key,
          patch.clear === true,
          patch.unset ?? [],
          JSON.stringify(patch.set ?? {}),
          patch.userId !== undefined,
          patch.userId ?? null,
          patch.permanent ?? null,
          patch.lastSeenAt === undefined ? null : Math.round(patch.lastSeenAt),
          patch.expiresAt === undefined ? null : Math.round(patch.expiresAt),
          Date.now(),
        ],
      )
      return rowCount === 1
    },

    async destroy(key) {
      await query('destroy', `DELETE FROM ${table} WHERE key = $1`, [key])
    },

    async listByUser(userId) {
      const { rows } = await query<Row & { key: string }>(
        'list',
        `SELECT key, ${columns} FROM ${table}
         WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC`,
        [userId, Date.now()],
      )
      return rows.map((row) => {
        const s = toSession(row)
        return {
          key: row.key,
          userId,
          createdAt: s.createdAt,
          lastSeenAt: s.lastSeenAt,
          expiresAt: s.expiresAt,
          userAgent: s.userAgent,
          ip: s.ip,
        }
      })
    },

    async list(options) {
      const { rows } = await query<SummaryRow>(
        'list_all',
        `SELECT key, user_id, created_at, last_seen_at, expires_at, user_agent, ip FROM ${table}
         WHERE expires_at > $1 ORDER BY created_at LIMIT $2`,
        [Date.now(), listLimit(options)],
      )
      return rows.map(
        (row): SessionSummary => ({
          key: row.key,
          userId: row.user_id,
          createdAt: Number(row.created_at),
          lastSeenAt: Number(row.last_seen_at),
          expiresAt: Number(row.expires_at),
          userAgent: row.user_agent,
          ip: row.ip,
        }),
      )
    },

    async destroyByUser(userId, { except } = {}) {
      const { rows } = await query<{ live: string }>(
        'destroy_user',
        `WITH gone AS (
           DELETE FROM ${table} WHERE user_id = $1 AND ($2::text IS NULL OR key <> $2)
           RETURNING expires_at
         ) SELECT count(*) FILTER (WHERE expires_at > $3) AS live FROM gone`,
        [userId, except ?? null, Date.now()],
      )
      return Number(rows[0]?.live ?? 0)
    },

    async prune({ onProgress } = {}) {
      // Small batches that skip rows another instance is deleting: two pruners share the work.
      const batch = 1000
      let total = 0
      for (;;) {
        const { rowCount } = await query(
          'prune',
          `DELETE FROM ${table} WHERE key IN (
             SELECT key FROM ${table} WHERE expires_at <= $1 LIMIT ${batch} FOR UPDATE SKIP LOCKED
           )`,
          [Date.now()],
        )
        total += rowCount ?? 0
        onProgress?.(total)
        if ((rowCount ?? 0) < batch) return total
      }
    },

    async clear() {
      await query('clear', `DELETE FROM ${table}`, [])
    },

    migrate,

    async close() {
      if (closed) return
      closed = true
      if (!ownsPool) return
      const p = pool ?? (await building?.catch(() => null))
      await p?.end()
    },
  }
}

/** A row as `pg` returns it: bigint columns arrive as strings. */
interface Row {
  data: Record<string, string>
  user_id: string | null
  created_at: string
  last_seen_at: string
  expires_at: string
  permanent: boolean
  user_agent: string | null
  ip: string | null
}

/** A row as `list` reads it. */
type SummaryRow = Pick<
  Row,
  'user_id' | 'created_at' | 'last_seen_at' | 'expires_at' | 'user_agent' | 'ip'
> & { key: string }

function toSession(row: Row): StoredSession {
  return {
    data: { ...row.data },
    userId: row.user_id,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    permanent: row.permanent,
    userAgent: row.user_agent,
    ip: row.ip,
  }
}

/** Quotes an SQL identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
