/**
 * A store with one file per session in a folder, like Flask-Session's filesystem store, safe
 * for several processes on one machine sharing the folder.
 *
 * Layout of `dir`:
 * - `<key>.json`: one session. Written to a temp file in the same folder, fsynced, then renamed
 *   over the old one, so a reader (or a crash) sees the whole old file or the whole new one.
 * - `<key>.lock`: held during a read-modify-write. A hard link to this store's owner file, so it
 *   appears atomically and already names its holder; a lock whose holder died is broken.
 * - `<nonce>.owner`: one per open store: its pid, nonce and host.
 * - `<key>.json.<nonce>-<n>.tmp`: a write in flight, or left by a crash (swept by `prune`).
 * - `users/<sha256 of user id>/<key>`: empty markers, the index behind `listByUser`.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile, type Stats } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { summary } from './memory.js'
import {
  applyPatch,
  listLimit,
  type SessionPatch,
  type SessionSummary,
  type Store,
  type StoredSession,
} from './types.js'

/** The part of `node:fs/promises` the file store writes through; tests inject faults here. */
export type FileStoreFs = Pick<
  typeof fsp,
  'open' | 'rename' | 'unlink' | 'mkdir' | 'link' | 'rmdir'
>

/** Options of `createFileStore`. */
export interface FileStoreOptions {
  /** The folder, created with mode 0700. @default join(os.tmpdir(), 'tessera-sessions') */
  dir?: string
  /** The clock, in epoch ms. */
  now?: () => number
  /** Replaces some of the file operations the store writes with (for fault injection). */
  fs?: Partial<FileStoreFs>
  /**
   * Seconds after which a lock or temp file whose owner cannot be checked (gone, or on another
   * host) counts as left by a crash. A lock whose owner process is dead is broken at once.
   * @default 30
   */
  staleAfter?: number
}

/** Store keys are base64url hashes; anything else could name a path outside the folder. */
const keyPattern = /^[A-Za-z0-9_-]{16,128}$/
const sessionName = /^([A-Za-z0-9_-]{16,128})\.json$/
const tempName = /\.([0-9a-f]{12})-\d+\.(?:tmp|stale)$/
const ownerName = /^([0-9a-f]{12})\.owner$/

/** How long an operation waits for another process to release a session's lock. */
const lockWaitMs = 5000

/** Sessions read at once by `prune`, `list` and `listByUser`. */
const parallelism = 32

/** Removals between two `onProgress` calls of `prune`. */
const pruneBatch = 1000

/**
 * A store that keeps each session in its own file. Expired files are removed by `prune`.
 * @example
 * const store = createFileStore({ dir: 'data/sessions' })
 */
export function createFileStore(options: FileStoreOptions = {}): Store {
  const isDefaultDir = options.dir === undefined
  const dir = resolve(options.dir ?? join(tmpdir(), 'tessera-sessions'))
  const usersDir = join(dir, 'users')
  const now = options.now ?? Date.now
  const fs: FileStoreFs = { ...defaultFs, ...options.fs }
  const staleMs = (options.staleAfter ?? 30) * 1000
  const host = hostname()
  const nonce = randomBytes(6).toString('hex')
  const ownerPath = join(dir, `${nonce}.owner`)
  const ownerText = `${process.pid} ${nonce} ${host}\n`
  /** Whether the folder supports hard links; else locks are created with O_EXCL and written. */
  let linkable = true
  let seq = 0
  let setup: Promise<void> | null = null
  /** The tail of each key's queue: this process never races itself for a lock. */
  const queues = new Map<string, Promise<unknown>>()
  /** Updates of a key waiting for their turn, applied together under one lock. */
  const batches = new Map<string, PendingUpdate[]>()
  const knownUserDirs = new Set<string>()

  const sessionPath = (key: string): string => join(dir, `${key}.json`)
  const lockPath = (key: string): string => join(dir, `${key}.lock`)
  const userDir = (userId: string): string =>
    join(usersDir, createHash('sha256').update(userId).digest('base64url'))

  function ready(): Promise<void> {
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

  /** Runs `task` after every earlier task of `key` in this store has settled. */
  function serial<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = queues.get(key)
    const run = previous ? previous.then(task) : task()
    const tail = run.then(noop, noop)
    queues.set(key, tail)
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key)
    })
    return run
  }

  /** Runs `task` holding the key's lock, waiting for it; in this process, call it in `serial`. */
  async function locked<T>(key: string, task: () => Promise<T>): Promise<T> {
    await ready()
    await acquire(key, true)
    try {
      return await task()
    } finally {
      await release(key)
    }
  }

  /** Like `locked`, but skips the task (and returns undefined) when the lock is taken. */
  async function tryLocked<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    await ready()
    if (!(await acquire(key, false))) return undefined
    try {
      return await task()
    } finally {
      await release(key)
    }
  }

  async function acquire(key: string, wait: boolean): Promise<boolean> {
    const lock = lockPath(key)
    const deadline = Date.now() + lockWaitMs
    let delay = 1
    for (let attempt = 0; ; attempt++) {
      try {
        await take(lock)
        return true
      } catch (error) {
        // The folder or the owner file was removed under us: make them again.
        if (codeOf(error) === 'ENOENT' && attempt < 3) {
          setup = null
          await ready()
          continue
        }
        if (codeOf(error) !== 'EEXIST') throw error
      }
      if (await breakIfStale(key)) continue
      if (!wait) return false
      if (Date.now() >= deadline) {
        throw new Error(
          `timed out after ${lockWaitMs} ms waiting for the lock of session file ${key}.json ` +
            'in the file session store; another process holds it',
        )
      }
      await sleep(delay * (0.5 + Math.random()))
      delay = Math.min(delay * 2, 16)
    }
  }

  async function take(lock: string): Promise<void> {
    if (linkable) {
      try {
        await fs.link(ownerPath, lock)
        return
      } catch (error) {
        if (!noHardLinks.has(codeOf(error) ?? '')) throw error
        linkable = false
      }
    }
    const handle = await fs.open(lock, 'wx', 0o600)
    try {
      await handle.writeFile(ownerText)
    } catch (error) {
      await handle.close().catch(noop)
      await fs.unlink(lock).catch(noop)
      throw error
    }
    await handle.close()
  }

  async function release(key: string): Promise<void> {
    await unlinkIfExists(fs, lockPath(key))
  }

  /**
   * Breaks the key's lock if its holder is gone; true when the lock is free to try again. Call
   * it in `serial`, so the holder is never this store itself.
   */
  async function breakIfStale(key: string): Promise<boolean> {
    const lock = lockPath(key)
    let seen: Stats
    let text: string
    try {
      seen = await fsp.stat(lock)
      text = await fsp.readFile(lock, 'utf8')
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return true
      throw error
    }
    const holder = parseOwner(text)
    let stale: boolean
    if (holder && holder.host === host) {
      stale = holder.nonce === nonce || !isAlive(holder.pid)
    } else {
      // A hard-linked lock shares its owner file's inode, whose ctime moves whenever the owner
      // takes or drops any lock: a frozen ctime means an owner that stopped.
      stale = Date.now() - seen.ctimeMs > staleMs
    }
    if (!stale) return false
    // Move it aside first, so of two processes breaking it only one succeeds.
    const grave = join(dir, `${key}.lock.${nonce}-${++seq}.stale`)
    try {
      await fs.rename(lock, grave)
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return true
      throw error
    }
    const moved = await fsp.stat(grave).catch(() => null)
    if (moved && (moved.ino !== seen.ino || moved.dev !== seen.dev)) {
      // A live lock replaced the stale one in between: put it back.
      await fs.link(grave, lock).catch(noop)
    }
    await unlinkIfExists(fs, grave)
    return true
  }

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

  /** Writes a temp file in the folder, fsyncs it and renames it over `path`. */
  async function writeAtomic(path: string, text: string): Promise<void> {
    const temp = `${path}.${nonce}-${++seq}.tmp`
    let handle: fsp.FileHandle | undefined
    try {
      handle = await fs.open(temp, 'wx', 0o600)
      await handle.writeFile(text)
      await handle.datasync()
      const h = handle
      handle = undefined
      await h.close()
      await fs.rename(temp, path)
    } catch (error) {
      await handle?.close().catch(noop)
      await unlinkIfExists(fs, temp).catch(noop)
      throw error
    }
  }

  async function addMarker(userId: string, key: string): Promise<void> {
    const folder = userDir(userId)
    for (let attempt = 0; ; attempt++) {
      if (!knownUserDirs.has(folder)) {
        await fs.mkdir(folder, { recursive: true, mode: 0o700 })
        if (knownUserDirs.size >= 10_000) knownUserDirs.clear()
        knownUserDirs.add(folder)
      }
      try {
        await (await fs.open(join(folder, key), 'w', 0o600)).close()
        return
      } catch (error) {
        // `prune` removed the empty folder in between.
        if (codeOf(error) !== 'ENOENT' || attempt >= 3) throw error
        knownUserDirs.delete(folder)
      }
    }
  }

  async function removeMarker(userId: string, key: string): Promise<void> {
    await unlinkIfExists(fs, join(userDir(userId), key))
  }

  /** Applies a batch of patches under the key's lock: one read and one write for all. */
  async function applyBatch(key: string, batch: readonly PendingUpdate[]): Promise<boolean> {
    const current = await read(key)
    if (!current || current.expiresAt <= now()) return false
    let next = current
    for (const { patch } of batch) next = applyPatch(next, patch)
    const rebound = next.userId !== current.userId
    // The new marker goes first and the old one last, so the index never misses the session.
    if (rebound && next.userId !== null) await addMarker(next.userId, key)
    await writeAtomic(sessionPath(key), encode(next))
    if (rebound && current.userId !== null) await removeMarker(current.userId, key)
    return true
  }

  /** Drops a marker whose session is gone, expired or bound elsewhere; skips a locked key. */
  async function dropMarker(userId: string, key: string): Promise<void> {
    await serial(key, () =>
      tryLocked(key, async () => {
        const session = await read(key)
        if (!session || session.userId !== userId || session.expiresAt <= now()) {
          await removeMarker(userId, key)
        }
      }),
    )
  }

  /** Removes the key's file if it is expired or unreadable; true when it did. */
  async function sweep(key: string): Promise<boolean> {
    const removed = await serial(key, () =>
      tryLocked(key, async () => {
        let session: StoredSession | null
        try {
          session = await read(key)
        } catch {
          return false
        }
        if (session && session.expiresAt > now()) return false
        if (!(await unlinkIfExists(fs, sessionPath(key)))) return false
        if (session?.userId != null) await removeMarker(session.userId, key)
        return true
      }),
    )
    return removed ?? false
  }

  /** Whether a temp file was left by a crash: its owner is dead, or it is old. */
  async function isStaleTemp(name: string, owner: string): Promise<boolean> {
    if (owner !== nonce) {
      const text = await fsp.readFile(join(dir, `${owner}.owner`), 'utf8').catch(() => '')
      const holder = parseOwner(text)
      if (holder && holder.host === host) return !isAlive(holder.pid)
    }
    const stat = await fsp.stat(join(dir, name)).catch(() => null)
    return stat !== null && Date.now() - stat.mtimeMs > staleMs
  }

  async function sweepUserDirs(): Promise<void> {
    let folders: string[]
    try {
      folders = await fsp.readdir(usersDir)
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return
      throw error
    }
    for (const folder of folders) {
      const path = join(usersDir, folder)
      const markers = await fsp.readdir(path).catch((): string[] => [])
      await eachLimited(markers, async (key) => {
        if (!keyPattern.test(key)) return
        const session = await read(key).catch(() => undefined)
        if (session !== null) return
        await serial(key, () =>
          tryLocked(key, async () => {
            if ((await read(key)) === null) await unlinkIfExists(fs, join(path, key))
          }),
        )
      })
      try {
        await fs.rmdir(path)
        knownUserDirs.delete(path)
      } catch (error) {
        const code = codeOf(error)
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error
      }
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
      await serial(key, () =>
        locked(key, async () => {
          const old = await read(key)
          if (session.userId !== null) await addMarker(session.userId, key)
          await writeAtomic(sessionPath(key), encode(session))
          if (old?.userId != null && old.userId !== session.userId) {
            await removeMarker(old.userId, key)
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
        serial(key, () => {
          // From here on, new updates of this key form the next batch.
          if (batches.get(key) === batch) batches.delete(key)
          return locked(key, () => applyBatch(key, batch))
        }).then(
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
      await serial(key, () =>
        locked(key, async () => {
          const old = await read(key).catch(() => null)
          await unlinkIfExists(fs, sessionPath(key))
          if (old?.userId != null) await removeMarker(old.userId, key)
        }),
      )
    },
    async listByUser(userId) {
      await ready()
      const keys = await readMarkers(userDir(userId))
      const t = now()
      const list: SessionSummary[] = []
      await eachLimited(keys, async (key) => {
        const session = await read(key)
        if (session && session.userId === userId && session.expiresAt > t) {
          list.push(summary(key, session))
        } else {
          await dropMarker(userId, key).catch(noop)
        }
      })
      return list.sort((a, b) => b.createdAt - a.createdAt)
    },
    async destroyByUser(userId, { except } = {}) {
      await ready()
      const folder = userDir(userId)
      const keys = (await readMarkers(folder)).filter((key) => key !== except)
      let count = 0
      await eachLimited(keys, (key) =>
        serial(key, () =>
          locked(key, async () => {
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
        if (session && session.expiresAt > t) list.push(summary(key, session))
      })
      return list.sort((a, b) => a.createdAt - b.createdAt).slice(0, limit)
    },
    async prune({ onProgress } = {}) {
      await ready()
      let count = 0
      let reported = 0
      const report = (): void => {
        if (count === reported) return
        reported = count
        onProgress?.(count)
      }
      const names = await fsp.readdir(dir)
      await eachLimited(names, async (name) => {
        const session = sessionName.exec(name)
        if (session) {
          const key = session[1]!
          const current = await read(key).catch(() => undefined)
          if (current === undefined || (current && current.expiresAt > now())) return
          if (await sweep(key)) {
            count++
            if (count % pruneBatch === 0) report()
          }
          return
        }
        const temp = tempName.exec(name)
        if (temp) {
          if (await isStaleTemp(name, temp[1]!)) await unlinkIfExists(fs, join(dir, name))
          return
        }
        if (name.endsWith('.lock')) {
          const key = name.slice(0, -'.lock'.length)
          if (keyPattern.test(key)) await serial(key, () => breakIfStale(key).then(noop))
          return
        }
        const owner = ownerName.exec(name)
        if (owner && owner[1] !== nonce) {
          const path = join(dir, name)
          const holder = parseOwner(await fsp.readFile(path, 'utf8').catch(() => ''))
          const dead = holder
            ? holder.host === host && !isAlive(holder.pid)
            : await isStaleTemp(name, owner[1]!)
          if (dead) await unlinkIfExists(fs, path)
        }
      })
      await sweepUserDirs()
      report()
      return count
    },
    async clear() {
      await ready()
      for (const name of await fsp.readdir(dir)) {
        if (sessionName.test(name) || tempName.test(name)) await unlinkIfExists(fs, join(dir, name))
      }
      await fsp.rm(usersDir, { recursive: true, force: true })
      knownUserDirs.clear()
      await fs.mkdir(usersDir, { recursive: true, mode: 0o700 })
    },
    async close() {
      while (queues.size > 0) await Promise.all([...queues.values()])
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

const defaultFs: FileStoreFs = {
  open: fsp.open,
  rename: fsp.rename,
  unlink: fsp.unlink,
  mkdir: fsp.mkdir,
  link: fsp.link,
  rmdir: fsp.rmdir,
}

/** Errors of `link` on a file system without hard links. */
const noHardLinks = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'])

function checkKey(key: string): void {
  if (!keyPattern.test(key)) {
    throw new TypeError(
      'the file session store was given a key that is not 16 to 128 base64url characters',
    )
  }
}

function encode(s: StoredSession): string {
  return JSON.stringify({
    data: s.data,
    userId: s.userId,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    permanent: s.permanent,
    userAgent: s.userAgent,
    ip: s.ip,
  })
}

/** The session in a file's text, or null when it is not a whole session file. */
function decode(text: string): StoredSession | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null) return null
  const s = value as Record<string, unknown>
  if (
    typeof s.data !== 'object' ||
    s.data === null ||
    Array.isArray(s.data) ||
    typeof s.createdAt !== 'number' ||
    typeof s.lastSeenAt !== 'number' ||
    typeof s.expiresAt !== 'number'
  ) {
    return null
  }
  return {
    data: s.data as Record<string, string>,
    userId: typeof s.userId === 'string' ? s.userId : null,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    permanent: s.permanent === true,
    userAgent: typeof s.userAgent === 'string' ? s.userAgent : null,
    ip: typeof s.ip === 'string' ? s.ip : null,
  }
}

/** The pid, nonce and host in an owner file (or a lock linked to one). */
function parseOwner(text: string): { pid: number; nonce: string; host: string } | null {
  const match = /^(\d+) ([0-9a-f]{12}) (.+)\n$/.exec(text)
  return match ? { pid: Number(match[1]), nonce: match[2]!, host: match[3]! } : null
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return codeOf(error) === 'EPERM'
  }
}

/** Refuses a shared default folder: in a world-writable temp dir, another user could plant it. */
async function checkPrivate(dir: string): Promise<void> {
  const stat = await fsp.lstat(dir)
  const uid = process.getuid?.()
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
    throw new Error(
      `${dir} is not a folder owned by this user, so it cannot hold sessions safely; ` +
        'pass `dir` to the file session store',
    )
  }
  if ((stat.mode & 0o077) !== 0) await fsp.chmod(dir, 0o700)
}

async function readMarkers(folder: string): Promise<string[]> {
  try {
    return (await fsp.readdir(folder)).filter((name) => keyPattern.test(name))
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return []
    throw error
  }
}

/** Unlinks `path`; false when it was already gone. */
async function unlinkIfExists(fs: FileStoreFs, path: string): Promise<boolean> {
  try {
    await fs.unlink(path)
    return true
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return false
    throw error
  }
}

/** Runs `task` on every item, at most `parallelism` at a time. */
async function eachLimited<T>(items: readonly T[], task: (item: T) => Promise<unknown>) {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, worker))
}

/** `fs.readFile` with a callback: here about twice as fast as the promise API's. */
function readText(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    readFile(path, 'utf8', (error, text) => (error ? reject(error) : resolve(text)))
  })
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function noop(): void {}
