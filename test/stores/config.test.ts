/**
 * Every store refuses options it cannot work with when it is made: a `ConfigError` naming the
 * fix, thrown at once (never a TypeError, nor an error on the first request).
 */
import session from 'express-session'
import { describe, expect, it } from 'vitest'
import { ConfigError, isSessionError } from '../../src/errors.js'
import { type ConnectStoreLike, createConnectStore } from '../../src/stores/connect.js'
import { createFileStore } from '../../src/stores/file.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { createPostgresStore } from '../../src/stores/postgres.js'
import { createRedisStore } from '../../src/stores/redis.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'

/** Options as an app might get them wrong: from untyped config, JSON or env. */
type Loose<T> = T & Record<string, unknown>
const loose = <T>(options: Record<string, unknown>) => options as Loose<T>

/** Asserts `make` throws a ConfigError at once whose message matches `fix`. */
function expectConfigError(make: () => unknown, fix: RegExp): void {
  let thrown: unknown
  try {
    make()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ConfigError)
  expect(isSessionError(thrown, 'CONFIG')).toBe(true)
  expect((thrown as Error).message).toMatch(fix)
}

describe('store configuration', () => {
  it('postgres: a connection string without a user, a bad timeout, no pool nor URL', () => {
    expectConfigError(
      () => createPostgresStore({ connectionString: 'postgres://127.0.0.1:5432/app' }),
      /names no user.*postgres:\/\/USER@HOST/,
    )
    expectConfigError(
      () => createPostgresStore({ connectionString: 'postgres://app@db/app', timeout: -5 }),
      /`timeout` must be a positive number of seconds, got -5/,
    )
    expectConfigError(() => createPostgresStore({}), /give `pool`.*or `connectionString`/)
    expectConfigError(
      () => createPostgresStore({ connectionString: 'app:secret@db/app' }),
      /postgres:\/\//,
    )
    expectConfigError(
      () => createPostgresStore({ connectionString: 'postgres://app@db/app', max: 0 }),
      /`max` must be a whole number, at least 1/,
    )
    expectConfigError(
      () => createPostgresStore(loose({ pool: {}, connectionString: 'postgres://a@b/c' })),
      /either `pool` or `connectionString`/,
    )
    expectConfigError(() => createPostgresStore(loose({ pool: {} })), /must be a pg\.Pool/)
  })

  it('postgres: takes the user from ?user= too', () => {
    const store = createPostgresStore({ connectionString: 'postgres://db:5432/app?user=app' })
    expect(store.name).toBe('postgres')
    return store.close?.()
  })

  it('redis: a bad timeout, URL or client', () => {
    expectConfigError(() => createRedisStore({ timeout: 0 }), /`timeout` must be a positive/)
    expectConfigError(() => createRedisStore({ timeout: Number.NaN }), /`timeout`/)
    // 0.2's unit was milliseconds: such a value is refused, with the seconds it meant.
    expectConfigError(
      () => createRedisStore({ timeout: 1000 }),
      /redis session store: `timeout` is 1000 seconds.*if you meant 1000 milliseconds, write 1/,
    )
    expectConfigError(() => createRedisStore({ url: 'http://127.0.0.1:6379' }), /redis:\/\//)
    expectConfigError(
      () => createRedisStore(loose({ client: { get() {} } })),
      /`client` has no `connect`, `sendCommand`.*node-redis v5\+/,
    )
    expectConfigError(
      () => createRedisStore(loose({ client: {}, url: 'redis://127.0.0.1' })),
      /either `client` or `url`/,
    )
  })

  it('redis: a cluster URL without ports, or a replicas wait that is no whole count', () => {
    expectConfigError(
      () => createRedisStore({ url: 'redis-cluster://10.0.0.1:6379,10.0.0.2' }),
      /no node at "10\.0\.0\.2".*HOST:PORT,HOST:PORT/,
    )
    expectConfigError(
      () => createRedisStore({ url: 'redis-cluster://u:secret@10.0.0.1' }),
      /"redis-cluster:\/\/\*\*\*@10\.0\.0\.1"/,
    )
    expectConfigError(
      () => createRedisStore({ replicas: { wait: 0, timeout: 0.1 } }),
      /`replicas` must be \{ wait, timeout \}/,
    )
    expectConfigError(
      () => createRedisStore(loose({ replicas: { wait: 1, timeout: -1 } })),
      /seconds to wait/,
    )
  })

  it('sqlite: neither db nor path, both, or a table that is no identifier', () => {
    expectConfigError(() => createSqliteStore({}), /give `db`.*or `path`/)
    expectConfigError(
      () => createSqliteStore({ path: 'x.db', table: 'sessions; DROP TABLE users' }),
      /not a plain SQL identifier/,
    )
  })

  it('memory and file: numbers out of range', () => {
    expectConfigError(() => createMemoryStore({ maxSessions: 0 }), /`maxSessions`/)
    expectConfigError(() => createMemoryStore({ sweepInterval: -1 }), /`sweepInterval`/)
    expectConfigError(() => createFileStore({ staleAfter: -1 }), /`staleAfter`/)
    expectConfigError(() => createFileStore({ dir: '' }), /`dir` must be the path of a folder/)
  })

  it('connect: a store without get, set and destroy, or a prefix that is no string', () => {
    expectConfigError(
      () => createConnectStore({ get() {} } as unknown as ConnectStoreLike),
      /has no `set`, `destroy`.*express-session store/,
    )
    expectConfigError(
      () => createConnectStore(new session.MemoryStore(), loose({ prefix: 42 })),
      /`prefix` must be a string/,
    )
  })

  it('every store: a clock that is not a function', () => {
    const now = loose<{ now: () => number }>({ now: 1_700_000_000_000 }).now
    for (const make of [
      () => createMemoryStore({ now }),
      () => createFileStore({ dir: 'x', now }),
      () => createSqliteStore({ path: 'x.db', now }),
      () => createRedisStore({ now }),
      () => createPostgresStore({ connectionString: 'postgres://a@b/c', now }),
      () => createConnectStore(new session.MemoryStore(), { now }),
    ]) {
      expectConfigError(make, /`now` must be a function returning epoch milliseconds/)
    }
  })
})
