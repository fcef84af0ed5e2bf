/**
 * A PostgreSQL store over `pg`. One row per session; the data is a jsonb object of tagged-JSON
 * strings, so `update` merges one request's keys in a single statement and concurrent requests
 * never overwrite each other's keys. The table and its indexes are created on first use.
 *
 * Every call is one statement on whichever connection the pool gives, and leaves nothing on the
 * server session (no named prepared statement, no `SET`, no session lock, no temp table), so
 * the store runs behind PgBouncer in transaction pooling mode as it runs on a direct connection.
 * @module
 */
import type { Pool, PoolClient, QueryArrayConfig, QueryArrayResult, QueryConfig } from 'pg'
import {
  clockOption,
  configError,
  secondsAsMs,
  stringOption,
  wholeNumber,
} from './common/config.js'
import {
  countLive,
  createParams,
  indexStatements,
  rowToSession,
  rowToSummary,
  sessionColumns,
  sharedStatements,
} from './common/sql.js'
import { createCommandTimeout } from './common/timeout.js'
import { listLimit, type SessionPatch, type StoredSession, type StoreWith } from './types.js'

/** Options of `createPostgresStore`: give `pool` or `connectionString`. */
export interface PostgresStoreOptions {
  /**
   * A `pg.Pool` the app owns; the store never ends it. Give it a `statement_timeout` (about
   * `timeout`): the store bounds each call on the client side, but only the server can cancel a
   * statement that is waiting on a lock, so that it does not land after the call has failed.
   */
  pool?: Pool
  /** A connection string, with its user: `postgres://USER@HOST/DB`. The store makes (and ends) its own pool. */
  connectionString?: string
  /** The table name. @default 'tessera_sessions' */
  table?: string
  /** The schema of the table, created if missing. @default 'public' */
  schema?: string
  /** Seconds to get a connection, and again to run a statement, before failing; at most 60. @default 1 */
  timeout?: number
  /** The `application_name` of the store's own connections. @default 'tessera' */
  applicationName?: string
  /** The most connections of the store's own pool. @default 10 */
  max?: number
  /**
   * Whether the store's own connections ask the server, when they connect, to cancel a
   * statement past `timeout` (`statement_timeout`). PgBouncer refuses that parameter: through
   * it, give `false` and set the timeout on the role instead
   * (`ALTER ROLE app SET statement_timeout = '1s'`), which every server connection then has.
   * @default true
   */
  statementTimeout?: boolean
  /** The clock, in epoch ms: what decides that a session has expired. @default Date.now */
  now?: () => number
}

/** Rows a `prune` statement deletes at most. */
const pruneBatch = 1000

/** Reads one batched statement asks for at most; more wait for the next one. */
const readBatch = 256

/**
 * Batched read statements out at once. Reads asked for while this many are out wait for one
 * to come back and then go together: the busier the server, the larger the batches, rather
 * than more statements queueing for it.
 */
const maxReadsInFlight = 2

/** A `get` waiting for the next batched read. */
interface Read {
  key: string
  /** The clock when the read was asked for: the row must expire after it. */
  now: number
  resolve: (session: StoredSession | null) => void
  reject: (error: unknown) => void
}

/**
 * A store that keeps sessions in a PostgreSQL table.
 * @example
 * ```ts
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL })
 * ```
 */
export function createPostgresStore(
  options: PostgresStoreOptions = {},
): StoreWith<'list' | 'prune' | 'clear' | 'migrate' | 'close'> {
  const timeout = secondsAsMs('postgres', 'timeout', options.timeout, 1, 60)
  const now = clockOption('postgres', options.now)
  const max = wholeNumber('postgres', 'max', options.max, 10, 1)
  const applicationName = stringOption(
    'postgres',
    'applicationName',
    options.applicationName,
    'tessera',
  )
  const tableName = stringOption('postgres', 'table', options.table, 'tessera_sessions')
  const schema = stringOption('postgres', 'schema', options.schema, 'public')
  if (tableName === '' || schema === '') {
    throw configError('postgres', '`table` and `schema` must not be empty')
  }
  if (options.pool && options.connectionString !== undefined) {
    throw configError('postgres', 'give either `pool` or `connectionString`, not both')
  }
  if (options.pool) {
    if (typeof options.pool.connect !== 'function' || typeof options.pool.on !== 'function') {
      throw configError('postgres', '`pool` must be a pg.Pool (`new pg.Pool({ ... })`)')
    }
  } else {
    checkConnectionString(options.connectionString)
  }
  if (options.statementTimeout !== undefined && typeof options.statementTimeout !== 'boolean') {
    throw configError('postgres', '`statementTimeout` must be true or false')
  }
  const table = `${ident(schema)}.${ident(tableName)}`
  const sql = sharedStatements({ table, param: (n) => `$${n}` })
  // The data as its JSON text, parsed per caller: a key asked for twice in one batch gets two
  // sessions that share no object.
  const getMany = `SELECT key, ${sessionColumns.replace(/^data\b/, 'data::text')}
    FROM ${table} WHERE key = ANY($1::text[]) AND expires_at > $2`
  const bounded = createCommandTimeout('postgres', timeout)
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
      max,
      connectionTimeoutMillis: timeout,
      idleTimeoutMillis: 30_000,
      // The server cancels a statement past the timeout, so a late write never lands…
      ...(options.statementTimeout === false ? {} : { statement_timeout: timeout }),
      // …and the client gives up a little later, should the server not answer at all.
      query_timeout: timeout + 250,
      application_name: applicationName,
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
    if (closed) throw new Error('postgres store: the store is closed; make a new one')
    const p = pool ?? (await building!)
    const client = await bounded
      .within(
        'give a connection',
        () => p.connect(),
        (late) => late.release(),
      )
      .catch((error: unknown) => {
        throw refusedTimeout(error) ?? error
      })
    if (!watched.has(client)) {
      // A checked-out client whose backend dies emits 'error'; the query rejects anyway.
      client.on('error', () => {})
      watched.add(client)
    }
    return client
  }

  /**
   * Runs one statement on a pooled connection; a connection that failed is discarded. The
   * statement is unnamed: a named one is prepared once per server session, and behind a
   * transaction-mode pooler the next call may run on a server session that never saw it.
   */
  async function query(text: string, values: unknown[]): Promise<QueryArrayResult> {
    if (!isMigrated) await migrate()
    const client = await acquire()
    const config: QueryArrayConfig & { query_timeout: number } = {
      text,
      values,
      rowMode: 'array',
      query_timeout: timeout + 250,
    }
    try {
      const result = await client.query(config)
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
      for (const index of indexStatements(table, (s) => ident(`${tableName}_${s}_idx`))) {
        await run(index)
      }
      await run('COMMIT')
      client.release()
    } catch (error) {
      // The connection may be mid-transaction: discard it rather than reuse it.
      client.release(error instanceof Error ? error : true)
      throw error
    }
  }

  /** Reads asked for since the last batch went out. */
  let reads: Read[] = []
  /** Whether a `flushReads` is due at the end of this turn. */
  let flushDue = false
  /** Batched read statements sent and not yet answered. */
  let readsInFlight = 0

  /**
   * Sends the waiting reads at the end of this turn of the event loop, unless the most batches
   * are already out: then they go when one comes back, together with every read asked for
   * meanwhile.
   */
  function flushSoon(): void {
    if (flushDue || readsInFlight >= maxReadsInFlight) return
    flushDue = true
    setImmediate(flushReads)
  }

  /**
   * Sends the waiting reads as one statement each batch (a lone read as the plain `get`). The
   * reads of one turn of the event loop, and those asked for while earlier batches were out,
   * share a round trip, a connection and the server's parse and plan of the statement, where
   * each used to pay for its own; under load that is most of what a read costs, on both ends.
   */
  function flushReads(): void {
    flushDue = false
    while (reads.length > 0 && readsInFlight < maxReadsInFlight) sendReads(takeReads())
  }

  function takeReads(): Read[] {
    if (reads.length <= readBatch) {
      const batch = reads
      reads = []
      return batch
    }
    return reads.splice(0, readBatch)
  }

  function sendReads(batch: Read[]): void {
    readsInFlight++
    const done = () => {
      readsInFlight--
      if (reads.length > 0) flushSoon()
    }
    if (batch.length === 1) {
      runAlone(batch[0]!, done)
      return
    }
    // The earliest clock of the batch in the statement, each read's own below: a row any read
    // may see comes back, and each read keeps only what it would have seen by itself.
    let earliest = batch[0]!.now
    for (const read of batch) if (read.now < earliest) earliest = read.now
    query(getMany, [batch.map((read) => read.key), earliest]).then(
      ({ rows }) => {
        done()
        const byKey = new Map<string, unknown[]>()
        for (const row of rows) byKey.set(row[0] as string, row)
        for (const read of batch) {
          const row = byKey.get(read.key)
          // Columns as in `sessionColumns`, after the key; expires_at is the fifth.
          const live = row !== undefined && Number(row[5]) > read.now
          read.resolve(live ? rowToSession(row.slice(1)) : null)
        }
      },
      (error: unknown) => {
        done()
        // A value the server refuses (a key with a NUL, say) fails the whole statement: each
        // read then runs by itself, so it fails only its own caller. Anything else (the
        // server gone, the timeout) would fail each of them as well, so all fail at once.
        if (isDataError(error)) {
          for (const read of batch) runAlone(read)
        } else {
          for (const read of batch) read.reject(error)
        }
      },
    )
  }

  function runAlone(read: Read, done?: () => void): void {
    query(sql.get, [read.key, read.now]).then(
      ({ rows }) => {
        done?.()
        read.resolve(rows[0] ? rowToSession(rows[0]) : null)
      },
      (error: unknown) => {
        done?.()
        read.reject(error)
      },
    )
  }

  return {
    name: 'postgres',

    get(key) {
      return new Promise<StoredSession | null>((resolve, reject) => {
        reads.push({ key, now: now(), resolve, reject })
        flushSoon()
      })
    },

    async create(key, s) {
      await query(
        sql.create,
        createParams(key, s, (b) => b),
      )
    },

    async update(key: string, patch: SessionPatch) {
      // One statement: the row lock serialises concurrent updates, and each one merges its
      // keys into the data as it is when the lock is granted.
      const { rowCount } = await query(
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
          now(),
        ],
      )
      return rowCount === 1
    },

    async destroy(key) {
      await query(sql.destroy, [key])
    },

    async listByUser(userId) {
      const { rows } = await query(sql.listByUser, [userId, now()])
      return rows.map(rowToSummary)
    },

    async list(options) {
      const { rows } = await query(sql.list, [now(), listLimit(options)])
      return rows.map(rowToSummary)
    },

    async destroyByUser(userId, { except } = {}) {
      const { rows } = await query(sql.destroyByUser, [userId, except ?? null])
      return countLive(rows, now())
    },

    async prune({ onProgress } = {}) {
      // Small batches that skip rows another instance is deleting: two pruners share the work.
      const t = now()
      let total = 0
      for (;;) {
        const { rowCount } = await query(
          `DELETE FROM ${table} WHERE key IN (
             SELECT key FROM ${table} WHERE expires_at <= $1
             LIMIT ${pruneBatch} FOR UPDATE SKIP LOCKED
           )`,
          [t],
        )
        total += rowCount ?? 0
        onProgress?.(total)
        if ((rowCount ?? 0) < pruneBatch) return total
      }
    },

    async clear() {
      await query(sql.clear, [])
    },

    migrate,

    async close() {
      if (closed) return
      // Reads asked for before the close go out now, as they did before reads were batched.
      while (reads.length > 0) sendReads(takeReads())
      closed = true
      if (!ownsPool) return
      const p = pool ?? (await building?.catch(() => null))
      await p?.end()
    },
  }
}

/**
 * Refuses, when the store is made, a connection string pg would only fail on at the first
 * request, or would connect with as whoever runs the process.
 */
function checkConnectionString(text: unknown): void {
  if (text === undefined) {
    throw configError(
      'postgres',
      'give `pool` (a pg.Pool) or `connectionString` (postgres://USER@HOST:5432/DB)',
    )
  }
  if (typeof text !== 'string' || text === '') {
    throw configError(
      'postgres',
      '`connectionString` must be a non-empty string: postgres://USER@HOST:5432/DB',
    )
  }
  let url: URL
  try {
    url = new URL(text)
  } catch (cause) {
    throw configError(
      'postgres',
      '`connectionString` is not a URL; write it as postgres://USER:PASSWORD@HOST:5432/DB ' +
        '(percent-encode special characters in the password)',
      cause,
    )
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw configError(
      'postgres',
      `\`connectionString\` starts with ${url.protocol}//, not postgres://; ` +
        'write it as postgres://USER@HOST:5432/DB',
    )
  }
  if (url.username === '' && !url.searchParams.get('user')) {
    throw configError(
      'postgres',
      '`connectionString` names no user, so pg would log in as whoever runs the process; ' +
        'add one: postgres://USER@HOST:5432/DB (or ?user=USER)',
    )
  }
}

/**
 * The error to throw when the server refused the `statement_timeout` sent at connect, as
 * PgBouncer does (`unsupported startup parameter`), or null for any other error.
 */
function refusedTimeout(error: unknown): Error | null {
  if (
    !(error instanceof Error) ||
    !/unsupported startup parameter: statement_timeout/.test(error.message)
  ) {
    return null
  }
  return new Error(
    'postgres store: the server refused the statement_timeout the store sends when it ' +
      'connects, as PgBouncer does; give `statementTimeout: false` and set the timeout on ' +
      "the role instead (ALTER ROLE app SET statement_timeout = '1s')",
    { cause: error },
  )
}

/** Whether the server refused a value of the statement (SQLSTATE class 22, data exception). */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('22')
}

/** Quotes an SQL identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
