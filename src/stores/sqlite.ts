/**
 * A store in a SQLite database, through better-sqlite3: the embedded default. One row per
 * session, indexed by expiry and by user. Every write is a single SQL statement, so it is atomic
 * across connections and processes without a transaction left to manage; `update` merges the
 * request's changes into the stored map with SQLite's `json_patch`, so two concurrent requests
 * that set different keys both keep their change. The writes asked for in one turn of the event
 * loop are committed together, in one transaction (a group commit).
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { dirname, resolve as resolvePath } from 'node:path'
import type Database from 'better-sqlite3'
import { clockOption, configError, sqlIdentifier } from './common/config.js'
import {
  countLive,
  createParams,
  indexStatements,
  rowToSession,
  rowToSummary,
  sharedStatements,
} from './common/sql.js'
import { type Checkpoints, startCheckpoints } from './sqlite/checkpoint.js'
import { listLimit, type SessionPatch, type StoreWith } from './types.js'

/** Options of `createSqliteStore`: give `db` or `path`. */
export interface SqliteStoreOptions {
  /** A better-sqlite3 handle the app owns; the store never closes it or changes its pragmas. */
  db?: Database.Database
  /**
   * A database file the store opens (its folder is created), in WAL mode with a 1000 ms busy
   * timeout, and closes on `close()`. Its WAL checkpoints (and their fsyncs) run in a worker
   * thread with a connection of its own, started at the first write, rather than on the event
   * loop; with SQLite older than 3.51 (better-sqlite3 before 12.5), or `exclusive`, they stay on
   * the store's connection, as SQLite does them by default.
   */
  path?: string
  /**
   * Open the file in SQLite's exclusive locking mode: this process alone uses the database,
   * and a read skips the two file-lock system calls SQLite otherwise makes per transaction
   * (where system calls are slow, as on sandboxed kernels, about 5 times faster per read).
   * Other processes, the `tessera sessions` command among them, then get SQLITE_BUSY until
   * the store is closed: use it for one app process per database file. Only with `path`.
   * @default false
   */
  exclusive?: boolean
  /** The table, a plain SQL identifier. @default 'tessera_sessions' */
  table?: string
  /** The clock, in epoch ms. */
  now?: () => number
}

/** How long a write waits for another connection's lock before it fails with SQLITE_BUSY. */
const busyTimeoutMs = 1000

/** Rows deleted by the first statement of a `prune`; later ones are sized by time. */
const pruneBatch = 1000

/** About how long one `prune` statement may hold the event loop (and the write lock), in ms. */
const pruneSliceMs = 10

/**
 * A store that keeps sessions in SQLite. The table and its indexes are created on first use
 * (or by `migrate()`). Errors such as SQLITE_BUSY and SQLITE_FULL are thrown as they come, and
 * the store stays usable afterwards.
 * @example
 * const store = createSqliteStore({ path: 'data/sessions.db' })
 */
export function createSqliteStore(
  options: SqliteStoreOptions,
): StoreWith<'list' | 'prune' | 'clear' | 'migrate' | 'close'> {
  const table = sqlIdentifier('sqlite', 'table', options.table, 'tessera_sessions')
  if (options.db && options.path !== undefined) {
    throw configError('sqlite', 'give either `db` or `path`, not both')
  }
  if (options.db && options.exclusive) {
    throw configError(
      'sqlite',
      '`exclusive` is for a database the store opens (`path`); for your own handle, ' +
        "run db.pragma('locking_mode = EXCLUSIVE') yourself",
    )
  }
  if (options.db && typeof options.db.prepare !== 'function') {
    throw configError('sqlite', '`db` must be a better-sqlite3 Database (`new Database(file)`)')
  }
  if (!options.db && (typeof options.path !== 'string' || options.path === '')) {
    throw configError(
      'sqlite',
      'give `db` (a better-sqlite3 handle) or `path` (a database file, e.g. data/sessions.db)',
    )
  }
  const now = clockOption('sqlite', options.now)
  const path = options.path
  let statements: Statements | null = null
  let opening: Promise<Statements> | null = null
  let owned: Database.Database | null = null
  let closed = false
  /** The worker checkpointing `owned`, once a write asked for it. */
  let checkpoints: Checkpoints | null = null
  /** Set while the checkpoint worker has the writes held; resolved when they may go on. */
  let hold: { released: Promise<void>; release: () => void } | null = null
  const gate = {
    hold() {
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      hold = { released, release }
    },
    release() {
      const held = hold
      hold = null
      flush()
      held?.release()
    },
  }

  function prepare(db: Database.Database): Statements {
    if (!statements) {
      createSchema(db, table)
      statements = prepareStatements(db, table)
    }
    return statements
  }

  /** The prepared statements, opening the database and creating the table on first use. */
  function ready(): Statements | Promise<Statements> {
    if (statements) return statements
    if (closed) throw new Error('the sqlite session store is closed')
    const db = options.db ?? owned
    // Creating the table may fail (SQLITE_BUSY, a read-only file): the next call tries again.
    if (db) return prepare(db)
    opening ??= openFile(path!, options.exclusive ?? false)
      .then((opened) => {
        owned = opened
        opening = null
        return prepare(opened)
      })
      .catch((error: unknown) => {
        opening = null
        throw error
      })
    return opening
  }

  /** Writes waiting for the group commit at the end of this turn of the event loop. */
  let queue: Write[] = []

  /**
   * Runs `run` in the next group commit: the session writes that requests make in one turn of
   * the event loop (a burst of logins, say) share one transaction. Each commit of a WAL database
   * costs its file locks and a write per changed page, and new rows share the index pages at
   * the end of the expiry index, so a shared commit makes fewer system calls than one commit a
   * write. Every other call runs the queue first, so reads and writes keep their call order.
   */
  async function queued<R>(run: (s: Statements) => R): Promise<R> {
    // Opening the database (on first use) comes first: a failure to open fails this call alone.
    if (!statements) await ready()
    // The first write starts the checkpoint worker: a store that only reads never needs it.
    // In exclusive locking mode no other connection can open the file, so SQLite's own
    // auto-checkpoint stays.
    if (!checkpoints && owned && !options.exclusive && !closed) {
      checkpoints = isWalFile(owned) ? startCheckpoints(owned, resolvePath(path!), gate) : noWorker
    }
    return new Promise<R>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ run, resolve: resolve as (value: unknown) => void, reject })
    })
  }

  /** Commits the queued writes; see `queued`. */
  function flush(): void {
    // Held for a checkpoint: the queue runs when it ends (see `gate`).
    if (queue.length === 0 || hold) return
    const writes = queue
    queue = []
    const s = statements
    if (!s) {
      const error = new Error('the sqlite session store was closed before its writes committed')
      for (const write of writes) write.reject(error)
      return
    }
    if (writes.length === 1) {
      settle(writes[0]!, s)
      return
    }
    let results: unknown[]
    try {
      results = s.begin(writes)
    } catch (error) {
      // The transaction rolled back. An error of the database as a whole fails every write, as
      // it would have one by one; anything else may be one write's alone, so each runs again
      // by itself.
      if (isDatabaseWide(error)) {
        for (const write of writes) write.reject(error)
      } else {
        for (const write of writes) settle(write, s)
      }
      return
    }
    for (let i = 0; i < writes.length; i++) writes[i]!.resolve(results[i])
  }

  function settle(write: Write, s: Statements): void {
    try {
      write.resolve(write.run(s))
    } catch (error) {
      write.reject(error)
    }
  }

  /** The statements, with every queued write committed first. */
  function current(): Statements | Promise<Statements> {
    if (queue.length > 0) {
      if (hold) return hold.released.then(current)
      flush()
    }
    return statements ?? ready()
  }

  /** As `current`, for a write run outside the queue: it too waits while writes are held. */
  function writable(): Statements | Promise<Statements> {
    return hold ? hold.released.then(writable) : current()
  }

  return {
    name: 'sqlite',
    async get(key) {
      // No await when the statements are ready: a read is on every request's path.
      const found = current()
      const s = found instanceof Promise ? await found : found
      const row = s.get.get(key, now()) as unknown[] | undefined
      return row ? rowToSession(row) : null
    },
    async create(key, session) {
      const params = createParams(key, session, (b) => (b ? 1 : 0))
      await queued((s) => {
        s.create.run(params)
      })
    },
    async update(key, patch) {
      // The clock is read as the write is asked for, not when the group commits.
      const params = updateParams(key, patch, now())
      return queued((s) => s.update.run(params).changes > 0)
    },
    async destroy(key) {
      await queued((s) => {
        s.destroy.run(key)
      })
    },
    async listByUser(userId) {
      const rows = (await current()).listByUser.all(userId, now()) as unknown[][]
      return rows.map(rowToSummary)
    },
    async list(options) {
      const limit = listLimit(options)
      const rows = (await current()).list.all(now(), limit) as unknown[][]
      return rows.map(rowToSummary)
    },
    async destroyByUser(userId, { except } = {}) {
      const s = await writable()
      const removed = s.destroyByUser.all(userId, except ?? null) as unknown[][]
      return countLive(removed, now())
    },
    async prune({ onProgress } = {}) {
      let s = await writable()
      const t = now()
      let count = 0
      let batch = pruneBatch
      for (;;) {
        const started = performance.now()
        const { changes } = s.prune.run(t, batch)
        const took = performance.now() - started
        count += changes
        onProgress?.(count)
        if (changes < batch) return count
        // better-sqlite3 holds the event loop for the whole statement: size the next batch so
        // that it takes about `pruneSliceMs`, however slow the disk and large the indexes.
        batch = Math.max(16, Math.min(pruneBatch * 8, Math.round((batch * pruneSliceMs) / took)))
        // Let waiting requests in between batches.
        await new Promise((resolve) => setImmediate(resolve))
        // A checkpoint may have held the writes meanwhile.
        s = await writable()
      }
    },
    async clear() {
      ;(await writable()).clear.run()
    },
    async migrate() {
      await ready()
      // Again, in case the table was dropped since the statements were prepared.
      createSchema((options.db ?? owned)!, table)
    },
    async close() {
      if (closed) return
      flush()
      closed = true
      // The worker's connection closes first, so the store's is the last one and, closing,
      // checkpoints and removes the WAL as before. Writes it held are let go and flushed here.
      await checkpoints?.stop()
      flush()
      if (opening) await opening.catch(() => undefined)
      statements = null
      owned?.close()
      owned = null
    },
  }
}

/** No checkpoint worker: SQLite's auto-checkpoint on the store's connection does them. */
const noWorker: Checkpoints = { stop: async () => {} }

/** Whether `db` is a WAL database file that a second connection can open by its name. */
function isWalFile(db: Database.Database): boolean {
  return !db.memory && db.name !== '' && db.pragma('journal_mode', { simple: true }) === 'wal'
}

/** A write waiting for its group commit. */
interface Write {
  run: (s: Statements) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Whether a failed write failed for the database as a whole (locked, full, read-only, an I/O
 * error) rather than for something in that one write.
 */
function isDatabaseWide(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return (
    typeof code === 'string' &&
    /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|NOMEM)/.test(code)
  )
}

interface Statements {
  /** Runs the writes in one transaction; their results, in order. */
  begin: (writes: readonly Write[]) => unknown[]
  get: Database.Statement
  create: Database.Statement
  update: Database.Statement
  destroy: Database.Statement
  listByUser: Database.Statement
  list: Database.Statement
  destroyByUser: Database.Statement
  prune: Database.Statement
  clear: Database.Statement
}

async function openFile(path: string, exclusive: boolean): Promise<Database.Database> {
  if (path !== ':memory:' && path !== '') await mkdir(dirname(path), { recursive: true })
  const { default: Sqlite } = await import('better-sqlite3')
  const db = new Sqlite(path, { timeout: busyTimeoutMs })
  try {
    db.pragma('journal_mode = WAL')
    // With WAL, NORMAL never corrupts the database; a power cut may lose the last commits.
    db.pragma('synchronous = NORMAL')
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE')
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

function createSchema(db: Database.Database, table: string): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS "${table}" (
      key TEXT PRIMARY KEY NOT NULL,
      data TEXT NOT NULL,
      user_id TEXT,
      created_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      permanent INTEGER NOT NULL DEFAULT 0,
      user_agent TEXT,
      ip TEXT
    );
  `)
  for (const index of indexStatements(`"${table}"`, (suffix) => `"${table}_${suffix}"`)) {
    db.exec(index)
  }
}

function prepareStatements(db: Database.Database, table: string): Statements {
  const t = `"${table}"`
  let statements: Statements
  // IMMEDIATE: the write lock is taken at the start, so a busy database fails the whole group
  // before any of it runs, never half-way.
  const begin = db.transaction((writes: readonly Write[]) =>
    writes.map((write) => write.run(statements)),
  ).immediate
  const shared = sharedStatements({ table: t, param: () => '?' })
  statements = {
    begin,
    get: db.prepare(shared.get).raw(),
    create: db.prepare(shared.create),
    // A JSON merge patch sets keys to their new text and removes the keys patched to null, in
    // the same statement that checks the session is still live: nothing expired is revived.
    update: db.prepare(
      `UPDATE ${t} SET
         data = CASE WHEN @clear THEN @patch
                     WHEN @patch IS NULL THEN data
                     ELSE json_patch(data, @patch) END,
         user_id = CASE WHEN @setUser THEN @userId ELSE user_id END,
         permanent = coalesce(@permanent, permanent),
         last_seen_at = coalesce(@lastSeenAt, last_seen_at),
         expires_at = coalesce(@expiresAt, expires_at)
       WHERE key = @key AND expires_at > @now`,
    ),
    destroy: db.prepare(shared.destroy),
    listByUser: db.prepare(shared.listByUser).raw(),
    list: db.prepare(shared.list).raw(),
    destroyByUser: db.prepare(shared.destroyByUser).raw(),
    prune: db.prepare(
      `DELETE FROM ${t} WHERE rowid IN
         (SELECT rowid FROM ${t} WHERE expires_at <= ? LIMIT ?)`,
    ),
    clear: db.prepare(shared.clear),
  }
  return statements
}

/** The named parameters of the update statement for one patch. */
function updateParams(key: string, patch: SessionPatch, now: number): Record<string, unknown> {
  let merge: string | null = null
  if (patch.clear) {
    merge = JSON.stringify(patch.set ?? {})
  } else if (patch.set || (patch.unset && patch.unset.length > 0)) {
    // Null-prototype, so a "__proto__" key is kept as a key. Unset first: a key both unset
    // and set ends up set, as in applyPatch.
    const changes: Record<string, string | null> = Object.create(null)
    if (patch.unset) for (const k of patch.unset) changes[k] = null
    if (patch.set) for (const k of Object.keys(patch.set)) changes[k] = patch.set[k]!
    merge = JSON.stringify(changes)
  }
  return {
    key,
    now,
    clear: patch.clear ? 1 : 0,
    patch: merge,
    setUser: patch.userId === undefined ? 0 : 1,
    userId: patch.userId ?? null,
    permanent: patch.permanent === undefined ? null : patch.permanent ? 1 : 0,
    lastSeenAt: patch.lastSeenAt ?? null,
    expiresAt: patch.expiresAt ?? null,
  }
}
