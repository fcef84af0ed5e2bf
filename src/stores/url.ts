/**
 * A store from a URL-like string, as `SESSION_STORE` and the CLI's `--store` take it:
 * `memory`, `file:DIR`, `sqlite:PATH`, `redis://…`, `rediss://…`, `postgres://…`, and for a
 * Redis Cluster `redis-cluster://HOST:PORT,HOST:PORT,…` (`rediss-cluster://` for TLS).
 * Each store's driver is imported only when that store is asked for.
 *
 * Paths: `sqlite:PATH` and `file:DIR` take the path as written, relative to the working folder
 * unless it starts with `/`. `sqlite:///abs/path` (three slashes, as in a `file:` URL) is the
 * absolute path `/abs/path`. Two slashes and a name, `sqlite://name/…`, would read as a host in a
 * URL and as the root folder in a path, so it is refused with the two right forms. The path is
 * not percent-decoded.
 * @module
 */
import { stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import type { Store } from './types.js'

/** The forms `openStore` accepts, for error messages and help texts. */
export const storeUrlForms =
  'memory, file:DIR, sqlite:PATH, redis://HOST:PORT, redis-cluster://HOST:PORT,HOST:PORT,…, postgres://…'

/** What a store URL names, before anything is opened. */
export type StoreTarget =
  | { kind: 'memory' }
  /** `dir` is undefined for a bare `file`: the file store's default folder. */
  | { kind: 'file'; dir: string | undefined }
  | { kind: 'sqlite'; path: string }
  /** One Redis, or a Redis Cluster (`redis-cluster://`): the Redis store takes both URLs. */
  | { kind: 'redis'; url: string }
  | { kind: 'postgres'; url: string }

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /**
   * Let the store create a missing SQLite database file or session folder (the stores do, on
   * first use). With `false`, a missing one is an error that names the path: for tools that
   * only read or change existing sessions, such as `tessera sessions`.
   * @default true
   */
  create?: boolean
}

/** The file store's folder when `file` is given without one (as `createFileStore` picks it). */
export function defaultFileStoreDir(): string {
  return join(tmpdir(), 'tessera-sessions')
}

/** Reads a store URL without opening anything. Throws `ConfigError` for a form it does not know. */
export function parseStoreUrl(url: string): StoreTarget {
  if (url === 'memory') return { kind: 'memory' }
  if (url === 'file' || url.startsWith('file:')) {
    const dir = pathOf(url, 'file')
    return { kind: 'file', dir: dir || undefined }
  }
  if (url.startsWith('sqlite:')) {
    const path = pathOf(url, 'sqlite')
    if (!path) {
      throw new ConfigError(
        'sqlite: needs a path, e.g. sqlite:.data/sessions.db or sqlite:///var/lib/app/sessions.db',
      )
    }
    return { kind: 'sqlite', path }
  }
  if (/^rediss?(-cluster)?:\/\//.test(url)) return { kind: 'redis', url }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { kind: 'postgres', url }
  }
  throw new ConfigError(`unknown session store "${url}"; use one of: ${storeUrlForms}`)
}

/** The path in `scheme:PATH` or `scheme:///abs`; refuses `scheme://name`. */
function pathOf(url: string, scheme: 'file' | 'sqlite'): string {
  const rest = url.slice(scheme.length + 1)
  if (!rest.startsWith('//')) return rest
  if (rest.startsWith('///')) return rest.slice(2)
  const name = rest.slice(2)
  const relative = name
    ? `for ${name} in the working folder write ${scheme}:${name}`
    : `for a path in the working folder write ${scheme}:PATH`
  throw new ConfigError(
    `"${url}" is not a path: after ${scheme}:// comes a host, and tessera's stores take none; ` +
      `${relative}, and for an absolute path ${scheme}:///abs/path (three slashes)`,
  )
}

/** Opens the store a URL names. Throws `ConfigError` for a form it does not know. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseStoreUrl(url)
  const create = options.create ?? true
  switch (target.kind) {
    case 'memory': {
      const { createMemoryStore } = await import('./memory.js')
      return createMemoryStore()
    }
    case 'file': {
      if (!create) await mustExist(target.dir ?? defaultFileStoreDir(), 'folder', url)
      const { createFileStore } = await import('./file.js')
      return createFileStore(target.dir === undefined ? {} : { dir: target.dir })
    }
    case 'sqlite': {
      if (!create && target.path !== ':memory:') await mustExist(target.path, 'database', url)
      const { createSqliteStore } = await import('./sqlite.js')
      return createSqliteStore({ path: target.path })
    }
    case 'redis': {
      const { createRedisStore } = await import('./redis.js')
      return createRedisStore({ url })
    }
    case 'postgres': {
      const { createPostgresStore } = await import('./postgres.js')
      return createPostgresStore({ connectionString: url })
    }
  }
}

/**
 * Throws, naming the path, unless `path` is an existing folder (`folder`) or non-folder
 * (`database`). The check and the store's open are two steps: a file removed in between is
 * still created by the store.
 */
async function mustExist(path: string, kind: 'folder' | 'database', url: string): Promise<void> {
  const absolute = resolve(path)
  const shown = absolute === path ? path : `${path} (${absolute})`
  const what = kind === 'folder' ? 'session folder' : 'SQLite database'
  let isFolder: boolean
  try {
    isFolder = (await stat(path)).isDirectory()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new Error(
        `no ${what} at ${shown}; check the path, or create it with \`tessera migrate --store ${url}\``,
        { cause: error },
      )
    }
    throw new Error(`cannot reach the ${what} at ${shown}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  if (kind === 'folder' && !isFolder) {
    throw new Error(
      `${shown} is not a folder; file:DIR takes the folder that holds the session files`,
    )
  }
  if (kind === 'database' && isFolder) {
    throw new Error(
      `${shown} is a folder, not a SQLite database file; give the file's path, ` +
        `e.g. sqlite:${join(path, 'sessions.db')}`,
    )
  }
}
