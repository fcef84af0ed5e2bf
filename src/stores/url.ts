/**
 * A store from a URL-like string, as `SESSION_STORE` and the CLI's `--store` take it:
 * `memory`, `file:DIR`, `sqlite:PATH`, `redis://…`, `rediss://…`, `postgres://…`.
 * Each store's driver is imported only when that store is asked for.
 * @module
 */
import { ConfigError } from '../errors.js'
import type { Store } from './types.js'

/** The forms `openStore` accepts, for error messages and help texts. */
export const storeUrlForms = 'memory, file:DIR, sqlite:PATH, redis://HOST:PORT, postgres://…'

/** Opens the store a URL names. Throws `ConfigError` for a form it does not know. */
export async function openStore(url: string): Promise<Store> {
  if (url === 'memory') {
    const { createMemoryStore } = await import('./memory.js')
    return createMemoryStore()
  }
  if (url === 'file' || url.startsWith('file:')) {
    const { createFileStore } = await import('./file.js')
    const dir = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '')
    return createFileStore(dir ? { dir } : {})
  }
  if (url.startsWith('sqlite:')) {
    const { createSqliteStore } = await import('./sqlite.js')
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (!path) throw new ConfigError('sqlite: needs a path, e.g. sqlite:.data/sessions.db')
    return createSqliteStore({ path })
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const { createRedisStore } = await import('./redis.js')
    return createRedisStore({ url })
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { createPostgresStore } = await import('./postgres.js')
    return createPostgresStore({ connectionString: url })
  }
  throw new ConfigError(`unknown session store "${url}"; use one of: ${storeUrlForms}`)
}
