/**
 * The user index of the file store: `users/<sha256 of user id>/<key>`, one empty marker per
 * session bound to the user. A marker is added before its session is bound and removed after it
 * is unbound, so the index never misses a session; markers of gone sessions are dropped by
 * `listByUser` and `prune`.
 * @module
 */
import { createHash } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import type { KeyQueue } from '../common/queue.js'
import type { StoredSession } from '../types.js'
import { codeOf, type FileStoreFs, touch, unlinkIfExists } from './atomic.js'
import { keyPattern } from './layout.js'
import type { Locks } from './lock.js'

/** Sessions read at once by `prune`, `list` and `listByUser`. */
const parallelism = 32

export interface UserIndexContext {
  usersDir: string
  fs: FileStoreFs
  queue: KeyQueue
  locks: Locks
  read(key: string): Promise<StoredSession | null>
}

export interface UserIndex {
  folder(userId: string): string
  add(userId: string, key: string): Promise<void>
  remove(userId: string, key: string): Promise<void>
  /** The keys with a marker in a user's folder. */
  keys(folder: string): Promise<string[]>
  /** Removes the markers of missing sessions, and the folders left empty. */
  sweep(): Promise<void>
  /** Forgets which folders exist (after they were removed). */
  forget(): void
}

export function createUserIndex(ctx: UserIndexContext): UserIndex {
  const { usersDir, fs, queue, locks } = ctx
  /** Folders made by this store: a marker in one needs no mkdir. */
  const known = new Set<string>()

  const folder = (userId: string): string =>
    join(usersDir, createHash('sha256').update(userId).digest('base64url'))

  return {
    folder,
    async add(userId, key) {
      const path = folder(userId)
      for (let attempt = 0; ; attempt++) {
        if (!known.has(path)) {
          await fs.mkdir(path, { recursive: true, mode: 0o700 })
          if (known.size >= 10_000) known.clear()
          known.add(path)
        }
        try {
          await touch(fs, join(path, key))
          return
        } catch (error) {
          // `prune` removed the empty folder in between.
          if (codeOf(error) !== 'ENOENT' || attempt >= 3) throw error
          known.delete(path)
        }
      }
    },
    async remove(userId, key) {
      await unlinkIfExists(fs, join(folder(userId), key))
    },
    keys: readMarkers,
    async sweep() {
      let folders: string[]
      try {
        folders = await fsp.readdir(usersDir)
      } catch (error) {
        if (codeOf(error) === 'ENOENT') return
        throw error
      }
      for (const name of folders) {
        const path = join(usersDir, name)
        const markers = await fsp.readdir(path).catch((): string[] => [])
        await eachLimited(markers, async (key) => {
          if (!keyPattern.test(key)) return
          const session = await ctx.read(key).catch(() => undefined)
          if (session !== null) return
          await queue.run(key, () =>
            locks.tryLocked(key, async () => {
              if ((await ctx.read(key)) === null) await unlinkIfExists(fs, join(path, key))
            }),
          )
        })
        try {
          await fs.rmdir(path)
          known.delete(path)
        } catch (error) {
          const code = codeOf(error)
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error
        }
      }
    },
    forget() {
      known.clear()
    },
  }
}

async function readMarkers(folder: string): Promise<string[]> {
  try {
    return (await fsp.readdir(folder)).filter((name) => keyPattern.test(name))
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return []
    throw error
  }
}

/** Runs `task` on every item, at most `parallelism` at a time. */
export async function eachLimited<T>(
  items: readonly T[],
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, worker))
}
