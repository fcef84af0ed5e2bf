/**
 * The bugs the fuzzers found, each as the smallest input that shows it, so that each one has a
 * test of its own (a property stops at its first failure, and would hide the next bug behind
 * it). Each test states the behaviour the library promises; it fails until the bug is fixed.
 */
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createFlaskCodec } from '../../src/codecs/flask/index.js'
import { createNativeCodec } from '../../src/codecs/native.js'
import { noMeta } from '../../src/codecs/types.js'
import { createSessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import { assertLinear, fill, payload } from './linear.js'
import { forbiddenKeyPath, timed } from './support/checks.js'
import { cookieName, fuzzSecret, signFlask, signNative } from './support/forge.js'
import { liveRecord, makeStoredSession, maxAge, request } from './targets.js'

const now = Date.now()
const native = createNativeCodec({ secrets: fuzzSecret, name: cookieName })
const flask = createFlaskCodec({ secret: fuzzSecret })

describe('fuzz findings', () => {
  it('readCookie reads a header without "=" in linear time', async () => {
    const { readCookie } = await import('../../src/transports/cookie.js')
    await assertLinear(
      'readCookie of ";;;…"',
      (h: string) => readCookie(h, 'session'),
      fill(';', 16_384),
      fill(';', 131_072),
    )
  })

  it('a native cookie whose " di" escape unescapes to "__proto__" is refused', () => {
    const result = native.decode(signNative('{" di":{"__proto____":{"polluted":true}}}', now), {
      now,
      maxAge,
    })

    expect(result.ok ? forbiddenKeyPath(result.data) : null).toBeNull()
  })

  it('a Flask cookie whose nested " di" escapes unescape to "__proto__" is refused', () => {
    const result = flask.decode(signFlask('{" di":{" di":{"__proto______":1}}}', now), {
      now,
      maxAge,
    })

    expect(result.ok ? forbiddenKeyPath(result.data) : null).toBeNull()
  })

  it('a stored value whose " di" escape unescapes to "constructor" gives an empty session', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const sessions = createSessions({ secret: fuzzSecret, store, pruneInterval: 0 })
    const { cookie, key } = await makeStoredSession(sessions)
    await store.create(key, liveRecord({ cart: '{" di":{"constructor__":{"x":1}}}' }))

    const session = sessions.open(cookie)
    await session.load()

    expect(session.rejectedReason).toBe('invalid_data')
    expect(forbiddenKeyPath(session.toJSON())).toBeNull()
    await sessions.close()
  })

  it('a request carrying such a cookie answers 200, not 500, when it writes the session', async () => {
    const { withSession } = await import('../../src/adapters/node.js')
    const sessions = createSessions({ secret: fuzzSecret })
    const app = withSession(
      sessions,
      (_req, res, session) => {
        session.set('n', 1)
        res.end('ok')
      },
      {
        onError: (_e, _r, res) => {
          res.writeHead(500)
          res.end()
        },
      },
    )
    const cookie = `session=${signNative('{"cart":{" di":{"__proto____":1}}}', Date.now())}`

    const result = await request(app as Parameters<typeof request>[0], 'set', cookie)

    expect(result.status).toBe(200)
  })

  it('a Flask date that a time zone shifts past the year 9999 decodes to data that can be written back', () => {
    const value = signFlask('{"d":{" d":"Fri, 31 Dec 9999 23:59:59 -9999"}}', now)
    const result = flask.decode(value, { now, maxAge })

    expect(() => (result.ok ? flask.encode(result.data, noMeta, now) : '')).not.toThrow()
  })

  it('a compressed Flask cookie inflating to the 1 MiB cap decodes within 50 ms', () => {
    const value = signFlask(payload({ kind: 'list', snippet: '{" t":[]}' }, 1_000_000), now, true)

    expect(value.length).toBeLessThan(4096)
    expect(() => timed('decode', () => flask.decode(value, { now, maxAge }))).not.toThrow()
  })

  it('native data nested deeper than tagged JSON can write is refused when read', async () => {
    const store = createMemoryStore({ sweepInterval: 0 })
    const sessions = createSessions({ secret: fuzzSecret, store, pruneInterval: 0 })
    const outcomes: string[] = []
    for (let depth = 1000; depth <= 16_000; depth += 1000) {
      const { cookie, key } = await makeStoredSession(sessions)
      await store.create(key, liveRecord({ deep: `${'['.repeat(depth)}${']'.repeat(depth)}` }))
      const session = sessions.open(cookie)
      await session.load()
      if (session.rejectedReason !== null) {
        outcomes.push(`${depth}: refused`)
        continue
      }
      session.markModified('deep')
      const written = await sessions.commit(session).then(
        () => 'written back',
        (error: Error) => error.name,
      )
      outcomes.push(`${depth}: ${written}`)
    }

    // At every depth: refused on read (as Flask's parser refuses past 512 levels), or writable.
    expect(outcomes.filter((o) => !/refused|written back/.test(o))).toEqual([])
    await sessions.close()
  })

  it('a SQLite row whose data is not JSON gives an anonymous session, not a 503', async () => {
    const db = new Database(':memory:')
    const sessions = createSessions({
      secret: fuzzSecret,
      store: createSqliteStore({ db }),
      pruneInterval: 0,
    })
    const { cookie, key } = await makeStoredSession(sessions)
    db.prepare('UPDATE tessera_sessions SET data = ? WHERE key = ?').run('{"a":', key)

    const session = sessions.open(cookie)
    const outcome = await session.load().then(
      () => session.rejectedReason,
      (error: { code?: string }) => error.code,
    )

    // The store reads an unreadable row as no session, as the file store does an unreadable file.
    expect(outcome).toBe('expired')
    expect(session.isNew).toBe(true)
    await sessions.close()
    db.close()
  })
})
