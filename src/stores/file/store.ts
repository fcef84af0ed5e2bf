/**
 * A store with one file per session in a folder, like Flask-Session's filesystem store, safe
 * for several processes on one machine sharing the folder. The folder's layout is in
 * `layout.ts`; writes are atomic (`atomic.ts`), read-modify-writes hold a per-session lock
 * (`lock.ts`), and a user's sessions are found through markers (`user-index.ts`).
 * @module
 */
import { randomBytes } from 'node:crypto'
import { lstatSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { clockOption, configError, nonNegative } from '../common/config.js'
import { createKeyQueue } from '../common/queue.js'
import { toSummary } from '../common/record.js'
import {
  applyPatch,
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type StoredSession,
  type StoreWith,
} from '../types.js'
import {
  codeOf,
  defaultFs,
  type FileStoreFs,
  noop,
  readText,
  unlinkIfExists,
  writeAtomic,
} from './atomic.js'
import { checkKey, decode, encode, keyPattern, ownerName, sessionName, tempName } from './layout.js'
import { createLocks } from './lock.js'
import { createUserIndex, eachLimited } from './user-index.js'

export type { FileStoreFs } from './atomic.js'

/** Options of `createFileStore`. */
export interface FileStoreOptions {
  /** The folder, created with mode 0700. @default join(os.tmpdir(), 'tessera-sessions') */
  dir?: string
  /** The clock, in epoch ms: what decides that a session has expired. @default Date.now */
  now?: () => number
  /** Replaces some of the file operations the store writes with (for fault injection). */
  fs?: Partial<FileStoreFs>
  /**
   * Seconds after which a lock or temp file whose owner cannot be checked (gone, or on another
   * host) counts as left by a crash. A lock whose owner process is dead is broken at once.
   * Measured in real time, whatever `now` says. @default 30
   */
  staleAfter?: number
}

/** Removals between two `onProgress` calls of `prune`. */
const pruneBatch = 1000

/**
 * A store that keeps each session in its own file. Expired files are removed by `prune`.
 * @example
 * const store = createFileStore({ dir: 'data/sessions' })
 */
export function createFileStore(
  options: FileStoreOptions = {},
): StoreWith<'list' | 'prune' | 'clear' | 'close'> {
  if (options.dir !== undefined && (typeof options.dir !== 'string' || options.dir === '')) {
    throw configError('file', '`dir` must be the path of a folder, e.g. data/sessions')
  }
  for (const [name, fn] of Object.entries(options.fs ?? {})) {
    if (typeof fn !== 'function') {
      throw configError('file', `\`fs.${name}\` must be a function like fs/promises' ${name}`)
    }
  }
  const isDefaultDir = options.dir === undefined
  const dir = resolve(options.dir ?? join(tmpdir(), 'tessera-sessions'))
  if (isDefaultDir) checkPrivateSync(dir)
  const usersDir = join(dir, 'users')
  const now = clockOption('file', options.now)
  const fs: FileStoreFs = { ...defaultFs, ...options.fs }
  const staleMs = nonNegative('file', 'staleAfter', options.staleAfter, 30, 'seconds') * 1000
  const nonce = randomBytes(6).toString('hex')
  const ownerPath = join(dir, `${nonce}.owner`)
  const ownerText = `${process.pid} ${nonce} ${hostname()}\n`
  let seq = 0
  let setup: Promise<void> | null = null
  /** This process never races itself for a lock: its operations on one key run in turn. */
  const queue = createKeyQueue()
  /** Updates of a key waiting for their turn, applied together under one lock. */
  const batches = new Map<string, PendingUpdate[]>()

  const sessionPath = (key: string): string => join(dir, `${key}.json`)

  function ready(again = false): Promise<void> {
    if (again) setup = null
    setup ??= prepare().catch((error: unknown) => {
      setup = null
      throw error
    })
    return setup
  }

  async function prepare(): Promise<void> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    if (isDefaultDir) await checkPrivate(dir)
    await fs.mkdir(usersDir, { recursive: true, mode: 0o700 })
    const handle = await fs.open(ownerPath, 'w', 0o600)
    try {
      await handle.writeFile(ownerText)
    } finally {
      await handle.close()
    }
  }

  const locks = createLocks({
    dir,
    fs,
    host: hostname(),
    nonce,
    ownerPath,
    ownerText,
    staleMs,
    nextSeq: () => ++seq,
    ready,
  })

  /** The session in the key's file; null when it is missing or cannot be parsed. */
  async function read(key: string): Promise<StoredSession | null> {
    let text: string
    try {
      text = await readText(sessionPath(key))
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return null
      throw error
    }
    return decode(text)
  }

  const users = createUserIndex({ usersDir, fs, queue, locks, read })

  function write(key: string, session: StoredSession): Promise<void> {
    const path = sessionPath(key)
    return writeAtomic(fs, path, `${path}.${nonce}-${++seq}.tmp`, encode(session))
  }

  /** Applies a batch of patches under the key's lock: one read and one write for all. */
  async function applyBatch(key: string, batch: readonly PendingUpdate[]): Promise<boolean> {
    const current = await read(key)
    if (!current || current.expiresAt <= now()) return false
    let next = current
    for (const { patch } of batch) next = applyPatch(next, patch)
    const rebound = next.userId !== current.userId
    // The new marker goes first and the old one last, so the index never misses the session.
    if (rebound && next.userId !== null) await users.add(next.userId, key)
    await write(key, next)
    if (rebound && current.userId !== null) await users.remove(current.userId, key)
    return true
  }

  /** Drops a marker whose session is gone, expired or bound elsewhere; skips a locked key. */
  async function dropMarker(userId: string, key: string): Promise<void> {
    await queue.run(key, () =>
      locks.tryLocked(key, async () => {
        const session = await read(key)
        if (!session || session.userId !== userId || session.expiresAt <= now()) {
          await users.remove(userId, key)
        }
      }),
    )
  }

  /** Removes the key's file if it is expired at `t` or unreadable; true when it did. */
  async function sweep(key: string, t: number): Promise<boolean> {
    const removed = await queue.run(key, () =>
      locks.tryLocked(key, async () => {
        let session: StoredSession | null
        try {
          session = await read(key)
        } catch {
          return false
        }
        if (session && session.expiresAt > t) return false
        if (!(await unlinkIfExists(fs, sessionPath(key)))) return false
        if (session?.userId != null) await users.remove(session.userId, key)
        return true
      }),
    )
    return removed ?? false
  }

  /** Removes a file of the folder left by a crash (temp file, stale lock, dead owner). */
  async function sweepLeftOver(name: string): Promise<void> {
    const temp = tempName.exec(name)
    if (temp) {
      if (await locks.isLeftOver(name, temp[1]!)) await unlinkIfExists(fs, join(dir, name))
      return
    }
    if (name.endsWith('.lock')) {
      const key = name.slice(0, -'.lock'.length)
      if (keyPattern.test(key)) await queue.run(key, () => locks.breakIfStale(key).then(noop))
      return
    }
    const owner = ownerName.exec(name)
    if (owner && owner[1] !== nonce) {
      const path = join(dir, name)
      const text = await fsp.readFile(path, 'utf8').catch(() => '')
      const dead = locks.isDeadHolder(text) ?? (await locks.isLeftOver(name, owner[1]!))
      if (dead) await unlinkIfExists(fs, path)
    }
  }

  return {
    name: 'file',
    async get(key) {
      checkKey(key)
      const session = await read(key)
      return session && session.expiresAt > now() ? session : null
    },
    async create(key, session) {
      checkKey(key)
      await queue.run(key, () =>
        locks.locked(key, async () => {
          const old = await read(key)
          if (session.userId !== null) await users.add(session.userId, key)
          await write(key, session)
          if (old?.userId != null && old.userId !== session.userId) {
            await users.remove(old.userId, key)
          }
        }),
      )
    },
    update(key: string, patch: SessionPatch): Promise<boolean> {
      return new Promise<boolean>((resolvePatch, rejectPatch) => {
        checkKey(key)
        const pending: PendingUpdate = { patch, resolve: resolvePatch, reject: rejectPatch }
        const open = batches.get(key)
        if (open) {
          open.push(pending)
          return
        }
        const batch = [pending]
        batches.set(key, batch)
        queue
          .run(key, () => {
            // From here on, new updates of this key form the next batch.
            if (batches.get(key) === batch) batches.delete(key)
            return locks.locked(key, () => applyBatch(key, batch))
          })
          .then(
            (applied) => {
              for (const p of batch) p.resolve(applied)
            },
            (error: unknown) => {
              for (const p of batch) p.reject(error)
            },
          )
      })
    },
    async destroy(key) {
      checkKey(key)
      await queue.run(key, () =>
        locks.locked(key, async () => {
          const old = await read(key).catch(() => null)
          await unlinkIfExists(fs, sessionPath(key))
          if (old?.userId != null) await users.remove(old.userId, key)
        }),
      )
    },
    async listByUser(userId) {
      await ready()
      const keys = await users.keys(users.folder(userId))
      const t = now()
      const list: SessionSummary[] = []
      await eachLimited(keys, async (key) => {
        const session = await read(key)
        if (session && session.userId === userId && session.expiresAt > t) {
          list.push(toSummary(key, session))
        } else {
          await dropMarker(userId, key).catch(noop)
        }
      })
      return list.sort((a, b) => b.createdAt - a.createdAt)
    },
    async destroyByUser(userId, { except } = {}) {
      await ready()
      const folder = users.folder(userId)
      const keys = (await users.keys(folder)).filter((key) => key !== except)
      let count = 0
      await eachLimited(keys, (key) =>
        queue.run(key, () =>
          locks.locked(key, async () => {
            const session = await read(key)
            if (session && session.userId === userId) {
              if (session.expiresAt > now()) count++
              await unlinkIfExists(fs, sessionPath(key))
            }
            await unlinkIfExists(fs, join(folder, key))
          }),
        ),
      )
      return count
    },
    async list(options) {
      const limit = listLimit(options)
      await ready()
      const t = now()
      const list: SessionSummary[] = []
      const keys: string[] = []
      for (const name of await fsp.readdir(dir)) {
        const match = sessionName.exec(name)
        if (match) keys.push(match[1]!)
      }
      await eachLimited(keys, async (key) => {
        // Unparsable, vanished or unreadable files are skipped, as `get` would miss them.
        const session = await read(key).catch(() => null)
        if (session && session.expiresAt > t) list.push(toSummary(key, session))
      })
      return list.sort((a, b) => a.createdAt - b.createdAt).slice(0, limit)
    },
    async prune({ onProgress } = {}) {
      await ready()
      const t = now()
      let count = 0
      const names = await fsp.readdir(dir)
      await eachLimited(names, async (name) => {
        const session = sessionName.exec(name)
        if (!session) return sweepLeftOver(name)
        const key = session[1]!
        const current = await read(key).catch(() => undefined)
        if (current === undefined || (current && current.expiresAt > t)) return
        if (await sweep(key, t)) {
          count++
          if (count % pruneBatch === 0) onProgress?.(count)
        }
      })
      await users.sweep()
      // Always once at the end, with the count returned, even when nothing was removed.
      onProgress?.(count)
      return count
    },
    async clear() {
      await ready()
      for (const name of await fsp.readdir(dir)) {
        if (sessionName.test(name) || tempName.test(name)) await unlinkIfExists(fs, join(dir, name))
      }
      await fsp.rm(usersDir, { recursive: true, force: true })
      users.forget()
      await fs.mkdir(usersDir, { recursive: true, mode: 0o700 })
    },
    async close() {
      await queue.idle()
      if (setup) {
        await setup.catch(noop)
        setup = null
        await unlinkIfExists(fs, ownerPath)
      }
    },
  }
}

interface PendingUpdate {
  patch: SessionPatch
  resolve(applied: boolean): void
  reject(error: unknown): void
}

/**
 * Refuses, when the store is made, a default folder that exists and is not this user's: in a
 * world-writable temp dir, another user could plant it.
 */
function checkPrivateSync(dir: string): void {
  let stat: ReturnType<typeof lstatSync>
  try {
    stat = lstatSync(dir)
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return
    throw configError('file', `cannot check the default folder ${dir}; pass \`dir\``, error)
  }
  notPrivate(dir, stat.isDirectory(), stat.uid)
}

/** The same check when the folder is first used: it may have appeared since. */
async function checkPrivate(dir: string): Promise<void> {
  const stat = await fsp.lstat(dir)
  notPrivate(dir, stat.isDirectory(), stat.uid)
  if ((stat.mode & 0o077) !== 0) await fsp.chmod(dir, 0o700)
}

function notPrivate(dir: string, isDirectory: boolean, owner: number): void {
  const uid = process.getuid?.()
  if (!isDirectory || (uid !== undefined && owner !== uid)) {
    throw configError(
      'file',
      `${dir} is not a folder owned by this user, so it cannot hold sessions safely; ` +
        'pass `dir` (a folder of your own)',
    )
  }
}
