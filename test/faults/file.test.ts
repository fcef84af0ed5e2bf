/**
 * The file store's disk filling up (ENOSPC half-way through a write, injected through the
 * store's `fs` option), end to end through a real app over HTTP. The store-level cases (ENOSPC,
 * writers killed with SIGKILL mid-write) are in test/stores/file.test.ts.
 */
import * as fsp from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { createFileStore } from '../../src/stores/file.js'
import { fillingDisk } from '../support/full-disk.js'
import type { Listening } from '../support/http.js'
import { Acknowledged, call, expectUnavailable, login, secret, startApp } from './support/app.js'

describe('file store faults over HTTP', () => {
  let dir: string
  let sessions: Sessions
  let server: Listening
  const disk = fillingDisk()

  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'tessera-faults-file-'))
    const store = createFileStore({ dir, fs: disk.fs })
    sessions = createSessions({ secret, store, pruneInterval: 0 })
    server = await startApp(sessions)
  })

  afterAll(async () => {
    await server?.close()
    await sessions?.close()
    await fsp.rm(dir, { recursive: true, force: true })
  })

  it('disk full: writes 503 without a partial file, reads and logouts still work, and it recovers once space is back', async () => {
    const acked = new Acknowledged()
    const alice = await login(server, 'alice')
    await acked.set(server, alice, 'a', '1')
    const bob = await login(server, 'bob')

    disk.full = true
    const write = await acked.set(server, alice, 'b', '2')
    const fresh = await call(server, '/login?user=carol')
    const read = await call(server, '/whoami', alice)
    const page = await call(server, '/public', alice)
    const logout = await call(server, '/logout', bob) // an unlink needs no space
    const leftovers = (await fsp.readdir(dir)).filter((name) => /\.(tmp|lock)$/.test(name))
    disk.full = false

    expectUnavailable(write, 'a write while the disk is full')
    expectUnavailable(fresh, 'a login while the disk is full')
    expect(read.status).toBe(200)
    expect(read.data).toEqual({ user: 'alice', a: '1' })
    expect(page.status).toBe(200)
    expect(logout.status).toBe(200)
    expect(leftovers).toEqual([])
    // Same app, same cookie: writes go through again, and everything acknowledged is there.
    expect((await acked.set(server, alice, 'c', '3')).status).toBe(200)
    await acked.expectAllThere(server, alice, 'alice')
    expect((await call(server, '/whoami', alice)).data).not.toHaveProperty('b')
    expect((await call(server, '/whoami', bob)).user).toBeNull()
    expect((await login(server, 'carol')).length).toBeGreaterThan(0)
  })
})
