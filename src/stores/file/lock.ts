/**
 * Per-session locks across processes: `<key>.lock` is a hard link to the holder's owner file,
 * so it appears atomically and already names its holder; a lock whose holder died is broken.
 * @module
 */
import type { Stats } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { codeOf, type FileStoreFs, noop, unlinkIfExists } from './atomic.js'
import { parseOwner } from './layout.js'

/** How long an operation waits for another process to release a session's lock. */
const lockWaitMs = 5000

/** Errors of `link` on a file system without hard links. */
const noHardLinks = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'])

/** What the locks share with the rest of one file store. */
export interface LockContext {
  dir: string
  fs: FileStoreFs
  host: string
  nonce: string
  ownerPath: string
  ownerText: string
  /** Lock and temp file ages are real time, whatever clock decides session expiry. */
  staleMs: number
  /** A number for a file name, unique in this store. */
  nextSeq(): number
  /** Creates the folder and the owner file, once; `again` forgets they were made. */
  ready(again?: boolean): Promise<void>
}

export interface Locks {
  /** Runs `task` holding the key's lock, waiting for it. In this process, call it in the key's queue. */
  locked<T>(key: string, task: () => Promise<T>): Promise<T>
  /** Like `locked`, but skips the task (and returns undefined) when the lock is taken. */
  tryLocked<T>(key: string, task: () => Promise<T>): Promise<T | undefined>
  /** Breaks the key's lock if its holder is gone; true when the lock is free to try again. */
  breakIfStale(key: string): Promise<boolean>
  /** Whether a file named after an owner was left by a crash: its owner is dead, or it is old. */
  isLeftOver(name: string, owner: string): Promise<boolean>
  /** Whether a holder (from `parseOwner`) is a process of this host that has died. */
  isDeadHolder(text: string): boolean | null
}

export function createLocks(ctx: LockContext): Locks {
  const { dir, fs, host, nonce } = ctx
  /** Whether the folder supports hard links; else locks are created with O_EXCL and written. */
  let linkable = true
  const lockPath = (key: string): string => join(dir, `${key}.lock`)

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
          await ctx.ready(true)
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
        await fs.link(ctx.ownerPath, lock)
        return
      } catch (error) {
        if (!noHardLinks.has(codeOf(error) ?? '')) throw error
        linkable = false
      }
    }
    const handle = await fs.open(lock, 'wx', 0o600)
    try {
      await handle.writeFile(ctx.ownerText)
    } catch (error) {
      await handle.close().catch(noop)
      await fs.unlink(lock).catch(noop)
      throw error
    }
    await handle.close()
  }

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
      stale = Date.now() - seen.ctimeMs > ctx.staleMs
    }
    if (!stale) return false
    // Move it aside first, so of two processes breaking it only one succeeds.
    const grave = join(dir, `${key}.lock.${nonce}-${ctx.nextSeq()}.stale`)
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

  return {
    async locked(key, task) {
      await ctx.ready()
      await acquire(key, true)
      try {
        return await task()
      } finally {
        await unlinkIfExists(fs, lockPath(key))
      }
    },
    async tryLocked(key, task) {
      await ctx.ready()
      if (!(await acquire(key, false))) return undefined
      try {
        return await task()
      } finally {
        await unlinkIfExists(fs, lockPath(key))
      }
    },
    breakIfStale,
    async isLeftOver(name, owner) {
      if (owner !== nonce) {
        const text = await fsp.readFile(join(dir, `${owner}.owner`), 'utf8').catch(() => '')
        const holder = parseOwner(text)
        if (holder && holder.host === host) return !isAlive(holder.pid)
      }
      const stat = await fsp.stat(join(dir, name)).catch(() => null)
      return stat !== null && Date.now() - stat.mtimeMs > ctx.staleMs
    },
    isDeadHolder(text) {
      const holder = parseOwner(text)
      return holder ? holder.host === host && !isAlive(holder.pid) : null
    },
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return codeOf(error) === 'EPERM'
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
