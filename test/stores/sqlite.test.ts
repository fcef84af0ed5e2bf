import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCheckpoints, type WriteGate } from '../../src/stores/sqlite/checkpoint.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import { expectProgress, randomKey, record, testStore } from '../contracts/store.js'
import { untilLine } from '../support/child.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const handles: Database.Database[] = []

testStore('sqlite (in memory)', {
  make({ now }) {
    const db = new Database(':memory:')
    handles.push(db)
    return createSqliteStore({ db, now })
  },
  async cleanup() {
    for (const db of handles.splice(0)) db.close()
  },
})

const contractDirs: string[] = []
/** A new folder for one contract store, removed by `removeContractDirs`. */
async function contractDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-sqlite-'))
  contractDirs.push(dir)
  return dir
}
async function removeContractDirs(): Promise<void> {
  for (const dir of contractDirs.splice(0)) await rm(dir, { recursive: true, force: true })
}

testStore('sqlite (WAL file)', {
  async make({ now }) {
    return createSqliteStore({ path: join(await contractDir(), 'nested', 'sessions.db'), now })
  },
  cleanup: removeContractDirs,
})

testStore('sqlite (WAL file, exclusive)', {
  async make({ now }) {
    return createSqliteStore({
      path: join(await contractDir(), 'sessions.db'),
      exclusive: true,
      now,
    })
  },
  cleanup: removeContractDirs,
})

/**
 * A folder for one describe block's files, made before its tests and removed after them:
 * `inDir(name)` is a file in it, `dbPath()` a fresh database file.
 */
function testFolder(prefix: string): { inDir: (name: string) => string; dbPath: () => string } {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const inDir = (name: string) => join(dir, name)
  return { inDir, dbPath: () => inDir(`${randomBytes(6).toString('hex')}.db`) }
}

describe('createSqliteStore', () => {
  const { dbPath, inDir } = testFolder('tessera-sqlite-')

  it('opens its file in WAL mode and keeps sessions across a reopen', async () => {
    const path = dbPath()
    const key = randomKey()
    const saved = record({ userId: 'u-1', data: { a: '1' } })
    const first = createSqliteStore({ path })
    await first.create(key, saved)
    await first.close?.()

    const db = new Database(path)
    const mode = db.pragma('journal_mode', { simple: true })
    db.close()
    const second = createSqliteStore({ path })
    const reread = await second.get(key)
    await second.close?.()

    expect(mode).toBe('wal')
    expect(reread).toEqual(saved)
  })

  it('with `exclusive`, keeps other connections out until it is closed', async () => {
    const path = dbPath()
    const key = randomKey()
    const store = createSqliteStore({ path, exclusive: true })
    await store.create(key, record({ data: { a: '1' } }))
    await store.get(key)
    const other = new Database(path, { timeout: 50 })
    try {
      expect(() => other.prepare('SELECT count(*) FROM tessera_sessions').get()).toThrow(/locked/)
      await store.close?.()
      expect(other.prepare('SELECT count(*) AS n FROM tessera_sessions').get()).toEqual({ n: 1 })
    } finally {
      other.close()
    }
    expect(() => createSqliteStore({ db: other, exclusive: true })).toThrow(/locking_mode/)
  })

  it('never closes a handle the app owns', async () => {
    const db = new Database(':memory:')
    const store = createSqliteStore({ db })
    await store.create(randomKey(), record())

    await store.close?.()

    expect(db.open).toBe(true)
    db.close()
  })

  it('rejects a table name that is not a plain identifier, and a missing database', () => {
    const db = new Database(':memory:')

    expect(() => createSqliteStore({ db, table: 'sessions; DROP TABLE users' })).toThrow(
      /plain SQL identifier/,
    )
    expect(() => createSqliteStore({})).toThrow(/`db`.*`path`/)
    db.close()
  })

  it('keeps the sessions of stores on different tables apart', async () => {
    const db = new Database(':memory:')
    const a = createSqliteStore({ db, table: 'sessions_a' })
    const b = createSqliteStore({ db, table: 'sessions_b' })
    const key = randomKey()
    await a.create(key, record())
    await b.create(key, record({ data: { b: '1' } }))

    await b.clear?.()

    expect(await a.get(key)).not.toBeNull()
    expect(await b.get(key)).toBeNull()
    db.close()
  })

  it('creates the table and its indexes through migrate, and finds users through an index', async () => {
    const db = new Database(':memory:')
    const store = createSqliteStore({ db })

    await store.migrate?.()
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?")
      .pluck()
      .all('tessera_sessions')
    const plan = db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT key FROM tessera_sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC',
      )
      .all('u', 0) as { detail: string }[]

    expect(indexes).toEqual(
      expect.arrayContaining(['tessera_sessions_expires_at', 'tessera_sessions_user_id']),
    )
    expect(plan.map((row) => row.detail).join('\n')).toMatch(/USING INDEX tessera_sessions_user_id/)
    db.close()
  })

  describe('group commit', () => {
    it('commits the writes asked for in one turn in one transaction: fewer WAL frames than one by one', async () => {
      const framesAfter = async (
        write: (store: ReturnType<typeof createSqliteStore>) => Promise<void>,
      ) => {
        const path = dbPath()
        const store = createSqliteStore({ path })
        await store.migrate?.()
        const db = new Database(path)
        db.pragma('wal_checkpoint(TRUNCATE)')
        await write(store)
        const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as [{ log: number }]
        db.close()
        await store.close?.()
        return log
      }
      const keys = Array.from({ length: 20 }, () => randomKey())

      const together = await framesAfter(async (store) => {
        await Promise.all(keys.map((key) => store.create(key, record())))
      })
      const oneByOne = await framesAfter(async (store) => {
        for (const key of keys) await store.create(key, record())
      })

      expect(together).toBeGreaterThan(0)
      expect(together).toBeLessThan(oneByOne / 4)
    })

    it('lets a read asked for after a write in the same turn see that write', async () => {
      const store = createSqliteStore({ path: dbPath() })
      const key = randomKey()
      await store.migrate?.()

      const created = store.create(key, record({ data: { a: '"1"' } }))
      const read = store.get(key)
      const listed = store.list?.({})

      await created
      expect((await read)?.data).toEqual({ a: '"1"' })
      expect((await listed)?.map((s) => s.key)).toContain(key)
      await store.close?.()
    })

    it('fails only the write at fault when one write of a group fails', async () => {
      const db = new Database(':memory:')
      handles.push(db)
      const store = createSqliteStore({ db })
      const [bad, good, fresh] = [randomKey(), randomKey(), randomKey()]
      await store.create(bad, record())
      await store.create(good, record())
      // A row whose data is no JSON: json_patch fails on it, in SQL.
      db.prepare('UPDATE tessera_sessions SET data = ? WHERE key = ?').run('{not json', bad)

      const results = await Promise.allSettled([
        store.update(bad, { set: { a: '"1"' } }),
        store.update(good, { set: { a: '"2"' } }),
        store.create(fresh, record({ data: { b: '"3"' } })),
      ])

      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled'])
      expect((await store.get(good))?.data).toMatchObject({ a: '"2"' })
      expect((await store.get(fresh))?.data).toEqual({ b: '"3"' })
    })
  })

  it('prunes in batches sized by time, reporting progress after each, and counts every expired row', async () => {
    let t = 1_000_000
    const db = new Database(':memory:')
    const store = createSqliteStore({ db, now: () => t })
    const live = randomKey()
    for (let i = 0; i < 2500; i++) {
      await store.create(randomKey(), record({ createdAt: t, lastSeenAt: t, expiresAt: t + 1000 }))
    }
    await store.create(live, record({ createdAt: t, lastSeenAt: t, expiresAt: t + 10_000 }))

    t += 1000
    const seen: number[] = []
    const count = await store.prune?.({ onProgress: (n) => seen.push(n) })

    expect(count).toBe(2500)
    // The first statement deletes 1000 rows; later ones are sized by how long it took.
    expect(seen[0]).toBe(1000)
    expect(seen.length).toBeGreaterThan(1)
    expectProgress(seen, count!)
    expect(db.prepare('SELECT count(*) FROM tessera_sessions').pluck().get()).toBe(1)
    expect(await store.get(live)).not.toBeNull()
    db.close()
  })

  it('lists the oldest live sessions first, through one SELECT with a LIMIT', async () => {
    let t = 1_000_000
    const db = new Database(':memory:')
    const store = createSqliteStore({ db, now: () => t })
    const keys = Array.from({ length: 5 }, () => randomKey())
    for (const [i, key] of keys.entries()) {
      await store.create(key, record({ createdAt: t - i, lastSeenAt: t, expiresAt: t + 1000 }))
    }
    await store.create(randomKey(), record({ createdAt: 0, lastSeenAt: t, expiresAt: t }))

    const three = await store.list?.({ limit: 3 })
    t += 1000
    const later = await store.list?.()

    expect(three?.map((s) => s.key)).toEqual([keys[4], keys[3], keys[2]])
    expect(later).toEqual([])
    db.close()
  })

  it('loses no update when two connections update one session in turns', async () => {
    const path = dbPath()
    const [a, b] = [createSqliteStore({ path }), createSqliteStore({ path })]
    const key = randomKey()
    await a.create(key, record({ data: {} }))

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? a : b).update(key, { set: { [`k${i}`]: String(i) } }),
      ),
    )

    expect(results.every(Boolean)).toBe(true)
    expect(Object.keys((await b.get(key))?.data ?? {})).toHaveLength(100)
    await a.close?.()
    await b.close?.()
  })

  it('loses no update when several processes update one session at once', async () => {
    const path = dbPath()
    const store = createSqliteStore({ path })
    const key = randomKey()
    await store.create(key, record({ data: {} }))
    const script = inDir('updater.mts')
    await writeFile(script, updaterScript)
    const children = ['p', 'q', 'r'].map((prefix) =>
      spawn(process.execPath, ['--import', 'tsx', script, path, key, prefix, '150'], {
        cwd: root,
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )

    await Promise.all(children.map((child) => untilLine(child, 'ready')))
    for (const child of children) child.stdin?.write('go\n')
    const outputs = await Promise.all(children.map((child) => untilLine(child, /^(done|lost)/)))
    const data = (await store.get(key))?.data ?? {}
    await store.close?.()

    expect(outputs).toEqual(['done', 'done', 'done'])
    expect(Object.keys(data)).toHaveLength(450)
    for (const prefix of ['p', 'q', 'r']) {
      for (let i = 0; i < 150; i++) expect(data[`${prefix}${i}`]).toBe(String(i))
    }
  })

  it('waits for a lock held shorter than busy_timeout, then writes', async () => {
    const path = dbPath()
    const store = createSqliteStore({ path })
    const key = randomKey()
    await store.create(key, record())
    const holder = holdExclusive(path, 200)
    await holder.locked

    const started = Date.now()
    const applied = await store.update(key, { set: { waited: '1' } })
    const waited = Date.now() - started
    await holder.done
    await store.close?.()

    expect(applied).toBe(true)
    expect(waited).toBeGreaterThanOrEqual(100)
    expect(waited).toBeLessThan(1000)
  })

  it('rejects a write while another connection holds the lock past busy_timeout, and recovers after COMMIT', async () => {
    const path = dbPath()
    const store = createSqliteStore({ path })
    const key = randomKey()
    await store.create(key, record())
    const other = new Database(path)
    other.exec('BEGIN EXCLUSIVE')

    const started = Date.now()
    const failure = await store.update(key, { set: { a: '1' } }).catch((error: unknown) => error)
    const waited = Date.now() - started
    const readWhileLocked = await store.get(key)
    other.exec('COMMIT')
    other.close()
    const applied = await store.update(key, { set: { a: '2' } })

    expect(failure).toMatchObject({ code: 'SQLITE_BUSY' })
    expect(waited).toBeGreaterThanOrEqual(900)
    expect(waited).toBeLessThan(2500)
    expect(readWhileLocked).not.toBeNull()
    expect(applied).toBe(true)
    expect((await store.get(key))?.data.a).toBe('2')
    await store.close?.()
  })

  it('rejects writes with SQLITE_FULL when the database is full, and works once space is freed', async () => {
    const path = dbPath()
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    const store = createSqliteStore({ db })
    const kept = randomKey()
    await store.create(kept, record())
    const pages = db.pragma('page_count', { simple: true }) as number
    db.pragma(`max_page_count = ${pages}`)
    const big = { blob: JSON.stringify('x'.repeat(200_000)) }

    const failure = await store.create(randomKey(), record({ data: big })).catch((e: unknown) => e)
    const readWhileFull = await store.get(kept)
    db.pragma('max_page_count = 1073741823')
    const key = randomKey()
    await store.create(key, record({ data: big }))

    expect(failure).toMatchObject({ code: 'SQLITE_FULL' })
    expect(readWhileFull).not.toBeNull()
    expect(db.inTransaction).toBe(false)
    expect((await store.get(key))?.data).toEqual(big)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()
  })
})

describe('WAL checkpoints in a worker thread', () => {
  const { dbPath, inDir } = testFolder('tessera-sqlite-checkpoint-')

  /** A fresh WAL database on this test's own connection, with the store's table. */
  async function walDb(): Promise<{ path: string; db: Database.Database }> {
    const path = dbPath()
    await createSqliteStore({ path }).migrate?.()
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    handles.push(db)
    return { path, db }
  }

  /** Writes about `pages` WAL frames on `db`, one commit. */
  function writePages(db: Database.Database, pages: number): void {
    const insert = db.prepare(
      'INSERT INTO tessera_sessions (key, data, created_at, last_seen_at, expires_at) VALUES (?, ?, 0, 0, 1)',
    )
    db.transaction(() => {
      for (let i = 0; i < pages; i++) insert.run(randomKey(), 'x'.repeat(3500))
    })()
  }

  /** The gate a store gives its checkpoints, recording what the worker asked of it. */
  function recordingGate(): WriteGate & { calls: string[] } {
    const calls: string[] = []
    return { calls, hold: () => calls.push('hold'), release: () => calls.push('release') }
  }

  async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  const autocheckpoint = (db: Database.Database) =>
    db.pragma('wal_autocheckpoint', { simple: true })

  /** A better-sqlite3 stand-in whose statements containing `failing` throw when run. */
  async function failingModule(failing: string): Promise<string> {
    const file = inDir(`failing-${randomBytes(4).toString('hex')}.cjs`)
    const real = createRequire(import.meta.url).resolve('better-sqlite3')
    await writeFile(
      file,
      `const Real = require(${JSON.stringify(real)})
      module.exports = function Database(...args) {
        const db = new Real(...args)
        const prepare = db.prepare.bind(db)
        db.prepare = (sql) => sql.includes(${JSON.stringify(failing)})
          ? { get() { throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }) } }
          : prepare(sql)
        return db
      }`,
    )
    return file
  }

  /** The open file descriptors of this process on `path` (Linux). */
  function openHandles(path: string): number {
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path
      } catch {
        return false
      }
    }).length
  }
  const procFd = existsSync('/proc/self/fd')

  it('keeps the WAL bounded under continuous writes: it starts over, again and again', async () => {
    const path = dbPath()
    const store = createSqliteStore({ path })
    await store.migrate?.()
    const probe = new Database(path)
    handles.push(probe)
    const status = probe.prepare('PRAGMA wal_checkpoint(NOOP)')
    // 16,000 frames of 4 KiB: four times the length at which the store holds its writes for a
    // RESTART checkpoint, leaving room for what is written while it waits for its next look.
    const maxWal = 64 * 2 ** 20
    const frames = 60_000
    let written = 0
    let restarts = 0
    let lastLog = 0
    let largest = 0
    const started = Date.now()
    // Each turn's writes share one commit, and the next turn writes again at once: the writes
    // never pause long enough for a PASSIVE checkpoint alone to let the WAL start over.
    while (written < frames && largest <= maxWal && Date.now() - started < 60_000) {
      await Promise.all(
        Array.from({ length: 32 }, () =>
          store.create(randomKey(), record({ data: { text: JSON.stringify('x'.repeat(400)) } })),
        ),
      )
      const { log } = status.get() as { log: number }
      if (log < lastLog) restarts++
      written += log < lastLog ? log : log - lastLog
      lastLog = log
      largest = Math.max(largest, statSync(`${path}-wal`).size)
    }
    await store.close?.()

    expect(written).toBeGreaterThanOrEqual(frames)
    expect(largest).toBeLessThanOrEqual(maxWal)
    expect(restarts).toBeGreaterThanOrEqual(frames / 16_000)
  }, 70_000)

  it.skipIf(!procFd)(
    'opens a second connection at the first write and closes it before the store’s own',
    async () => {
      const path = dbPath()
      const store = createSqliteStore({ path })
      await store.get(randomKey())
      await new Promise((resolve) => setTimeout(resolve, 200))
      const beforeWrites = openHandles(path)

      await store.create(randomKey(), record())
      await until(() => openHandles(path) === 2, 'the worker’s connection')
      await store.close?.()

      expect(beforeWrites).toBe(1)
      expect(openHandles(path)).toBe(0)
      // The store's connection closed last, so it checkpointed and removed the WAL, as SQLite
      // does for the last connection.
      expect(existsSync(`${path}-wal`)).toBe(false)
    },
  )

  it('keeps checkpoints on the store’s connection in exclusive locking mode', async () => {
    const path = dbPath()
    const store = createSqliteStore({ path, exclusive: true })
    const key = randomKey()

    await store.create(key, record())
    await new Promise((resolve) => setTimeout(resolve, 200))

    if (procFd) expect(openHandles(path)).toBe(1)
    expect(await store.get(key)).not.toBeNull()
    await store.close?.()
  })

  it('turns the connection’s auto-checkpoint off while the worker runs, and back on when it ends', async () => {
    const { path, db } = await walDb()
    const checkpoints = startCheckpoints(db, path, recordingGate(), { intervalMs: 5 })

    await until(() => autocheckpoint(db) === 0, 'the worker to start')
    writePages(db, 1200)
    await until(
      () => (db.pragma('wal_checkpoint(NOOP)') as { checkpointed: number }[])[0]!.checkpointed > 0,
      'a checkpoint by the worker',
    )
    const during = autocheckpoint(db)
    await checkpoints.stop()

    expect(during).toBe(0)
    expect(autocheckpoint(db)).toBe(1000)
  })

  it('falls back to the connection’s auto-checkpoint when the worker cannot start', async () => {
    const { path, db } = await walDb()
    const gate = recordingGate()
    const module = inDir('no-such-module.cjs')

    const checkpoints = startCheckpoints(db, path, gate, { module, intervalMs: 5 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await checkpoints.stop()

    expect(autocheckpoint(db)).toBe(1000)
    expect(gate.calls).toEqual([])
  })

  it('falls back to the connection’s auto-checkpoint when a checkpoint in the worker fails', async () => {
    const { path, db } = await walDb()
    const module = await failingModule('PASSIVE')
    const checkpoints = startCheckpoints(db, path, recordingGate(), { module, intervalMs: 5 })
    await until(() => autocheckpoint(db) === 0, 'the worker to start')

    writePages(db, 1200)
    await until(() => autocheckpoint(db) === 1000, 'the fallback')
    // SQLite's own checkpoint runs again, in the next commit past 1000 pages.
    writePages(db, 1)
    const [after] = db.pragma('wal_checkpoint(NOOP)') as { log: number; checkpointed: number }[]
    await checkpoints.stop()

    expect(after!.checkpointed).toBe(after!.log)
    expect(db.prepare('SELECT count(*) FROM tessera_sessions').pluck().get()).toBe(1201)
  })

  it('lets the held writes go when the worker dies while they wait for it', async () => {
    const { path, db } = await walDb()
    const gate = recordingGate()
    const module = await failingModule('RESTART')
    const checkpoints = startCheckpoints(db, path, gate, {
      module,
      intervalMs: 5,
      pages: 10,
      limit: 50,
    })
    await until(() => autocheckpoint(db) === 0, 'the worker to start')

    writePages(db, 100)
    await until(() => autocheckpoint(db) === 1000, 'the fallback')
    await checkpoints.stop()

    expect(gate.calls).toEqual(['hold', 'release'])
  })

  it('lets a process that never closes the store exit', async () => {
    const script = inDir('unclosed.mts')
    await writeFile(script, unclosedScript)
    const child = spawn(process.execPath, ['--import', 'tsx', script, dbPath()], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))

    await untilLine(child, 'written')
    const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timeout)

    expect(code).toBe(0)
  })
})

/** A process that writes through a store it never closes, once its checkpoint worker runs. */
const unclosedScript = `
import { randomBytes } from 'node:crypto'
import { createSqliteStore } from ${JSON.stringify(join(root, 'src/stores/sqlite.ts'))}
const store = createSqliteStore({ path: process.argv[2] })
const now = Date.now()
const session = { data: {}, userId: null, createdAt: now, lastSeenAt: now, expiresAt: now + 60000, permanent: false }
await store.create(randomBytes(16).toString('hex'), session)
await new Promise((resolve) => setTimeout(resolve, 300))
await store.create(randomBytes(16).toString('hex'), session)
process.stdout.write('written\\n')
`

/** A child process that updates one session `n` times, five at a time, once told to go. */
const updaterScript = `
import { createSqliteStore } from ${JSON.stringify(join(root, 'src/stores/sqlite.ts'))}
const [path, key, prefix, n] = process.argv.slice(2)
const store = createSqliteStore({ path })
await store.get(key)
process.stdout.write('ready\\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
let ok = true
for (let i = 0; i < Number(n); i += 5) {
  const round = [0, 1, 2, 3, 4].map((j) => store.update(key, { set: { [prefix + (i + j)]: String(i + j) } }))
  ok = (await Promise.all(round)).every(Boolean) && ok
  await new Promise((resolve) => setImmediate(resolve))
}
await store.close()
process.stdout.write(ok ? 'done\\n' : 'lost\\n')
process.exit(0)
`

/** A second connection, in a worker thread, that holds BEGIN EXCLUSIVE for `ms`. */
function holdExclusive(path: string, ms: number): { locked: Promise<void>; done: Promise<void> } {
  const module = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads')
    const Database = require(workerData.module)
    const db = new Database(workerData.path)
    db.exec('BEGIN EXCLUSIVE')
    parentPort.postMessage('locked')
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms)
    db.exec('COMMIT')
    db.close()
    `,
    { eval: true, workerData: { module, path, ms } },
  )
  const locked = new Promise<void>((resolve) => worker.once('message', () => resolve()))
  const done = new Promise<void>((resolve, reject) => {
    worker.once('exit', () => resolve())
    worker.once('error', reject)
  })
  return { locked, done }
}
