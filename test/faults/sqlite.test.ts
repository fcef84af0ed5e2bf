/**
 * SQLite faults, end to end through a real app over HTTP: the database locked by another
 * connection (briefly: requests wait and succeed; for 3 s: writes 503 at the busy timeout, reads
 * still 200, recovery after COMMIT), and the database full (max_page_count clamped: writes 503,
 * reads 200, no partial record, recovery once raised, integrity intact).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createSessions } from '../../src/session/sessions.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import { Acknowledged, call, expectUnavailable, login, secret, startApp } from './support/app.js'

const dir = mkdtempSync(join(tmpdir(), 'tessera-faults-sqlite-'))
const cleanups: (() => Promise<unknown> | unknown)[] = []

afterAll(async () => {
  for (const cleanup of cleanups.reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => {})
  rmSync(dir, { recursive: true, force: true })
})

function dbPath(): string {
  return join(dir, `${randomBytes(6).toString('hex')}.db`)
}

/**
 * Another connection, in a worker thread (this thread blocks in SQLite's busy handler), holding
 * BEGIN EXCLUSIVE for at most `ms`, or until `release()`.
 */
function holdExclusive(path: string, ms: number) {
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const module = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads')
    const Database = require(workerData.module)
    const db = new Database(workerData.path)
    db.exec('BEGIN EXCLUSIVE')
    parentPort.postMessage('locked')
    Atomics.wait(workerData.flag, 0, 0, workerData.ms)
    db.exec('COMMIT')
    db.close()
    `,
    { eval: true, workerData: { module, path, ms, flag } },
  )
  const locked = new Promise<void>((resolve) => worker.once('message', () => resolve()))
  const done = new Promise<void>((resolve, reject) => {
    worker.once('exit', () => resolve())
    worker.once('error', reject)
  })
  const release = async () => {
    Atomics.store(flag, 0, 1)
    Atomics.notify(flag, 0)
    await done
  }
  cleanups.push(release)
  return { locked, done, release }
}

describe('sqlite faults over HTTP', () => {
  async function appOnFile() {
    const path = dbPath()
    const sessions = createSessions({
      secret,
      store: createSqliteStore({ path }),
      pruneInterval: 0,
    })
    const server = await startApp(sessions)
    cleanups.push(
      () => server.close(),
      () => sessions.close(),
    )
    return { path, server }
  }

  it('locked for 200 ms by another connection: a write waits for it and succeeds', async () => {
    const { path, server } = await appOnFile()
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')

    const holder = holdExclusive(path, 200)
    await holder.locked
    const during = await acked.set(server, alice, 'b', '2')
    await holder.done

    expect(during.status).toBe(200)
    expect(during.ms).toBeGreaterThanOrEqual(100)
    expect(during.ms).toBeLessThan(1000)
    await acked.expectAllThere(server, alice, 'alice')
  })

  it('locked for 3 s: writes 503 at the busy timeout, reads still 200, and it recovers after COMMIT', async () => {
    const { path, server } = await appOnFile()
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')
    const bob = await login(server, 'bob')
    expect((await call(server, '/logout', bob)).status).toBe(200)

    const holder = holdExclusive(path, 3000)
    await holder.locked
    const read = await call(server, '/whoami', alice)
    const page = await call(server, '/public', alice)
    const write = await acked.set(server, alice, 'c', '3')
    const fresh = await call(server, '/login?user=carol')
    const revoked = await call(server, '/whoami', bob)
    await holder.release()

    expect(read.status).toBe(200)
    expect(read.data).toMatchObject({ a: '1' })
    expect(read.setCookies).toEqual([])
    expect(page.status).toBe(200)
    expectUnavailable(write, 'a write while locked')
    expect(write.ms).toBeGreaterThanOrEqual(800)
    expect(write.ms).toBeLessThan(2500)
    expectUnavailable(fresh, 'a login while locked')
    expect(revoked.user).toBeNull()
    // No restart: the same app and cookie write again at once.
    expect((await acked.set(server, alice, 'd', '4')).status).toBe(200)
    await acked.expectAllThere(server, alice, 'alice')
    expect((await call(server, '/whoami', alice)).data).not.toHaveProperty('c')
  })

  it('full (max_page_count clamped): writes 503, reads 200, no partial record; it recovers once raised, intact', async () => {
    const db = new Database(dbPath())
    db.pragma('journal_mode = WAL')
    const sessions = createSessions({ secret, store: createSqliteStore({ db }), pruneInterval: 0 })
    const server = await startApp(sessions)
    cleanups.push(
      () => server.close(),
      () => sessions.close(),
      () => db.close(),
    )
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')

    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`)
    const big = await call(server, '/big?k=blob&n=200000', alice)
    const read = await call(server, '/whoami', alice)
    const page = await call(server, '/public', alice)
    db.pragma('max_page_count = 1073741823')
    const bigAgain = await call(server, '/big?k=blob&n=200000', alice)

    expectUnavailable(big, 'a write while full')
    expect(read.status).toBe(200)
    expect(read.data).not.toHaveProperty('blob')
    expect(page.status).toBe(200)
    expect(bigAgain.status).toBe(200)
    expect(((await call(server, '/whoami', alice)).data.blob as string).length).toBe(200_000)
    await acked.expectAllThere(server, alice, 'alice')
    expect(db.inTransaction).toBe(false)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
  })
})
