/**
 * The Redis store's `prune`, one SCAN batch at a time: sessions that have expired by the store's
 * clock (Redis's own may lag it) are deleted, and user indexes are swept of the entries of
 * sessions that are gone, so an index never grows with dead entries.
 * @module
 */
import type { RedisLike } from './client.js'
import { PRUNE_MEMBER, PRUNE_SESSION, type Script } from './scripts.js'

/** What pruning needs of the store. */
export interface PruneCommands {
  send(c: RedisLike, key: string, args: string[]): Promise<unknown>
  script(c: RedisLike, s: Script, keys: string[], args: string[]): Promise<unknown>
  sessionKey(key: string): string
  userKey(userId: string): string
}

/**
 * Deletes the sessions among `keys` expired at `t`, each leaving its user index; returns how
 * many. Run it before `pruneIndex` on the same batch: an index swept after finds the entries of
 * these sessions gone already, so no session is counted twice.
 */
export async function pruneSessions(
  r: PruneCommands,
  c: RedisLike,
  keys: string[],
  t: string,
): Promise<number> {
  // A cheap read first: most sessions of a batch are live, and need no script.
  const expiries = (await Promise.all(
    keys.map((key) => r.send(c, r.sessionKey(key), ['HGET', r.sessionKey(key), 'm:e'])),
  )) as (string | null)[]
  const expired = keys.filter((_, i) => expiries[i] != null && Number(expiries[i]) <= Number(t))
  const replies = (await Promise.all(
    expired.map((key) => r.script(c, PRUNE_SESSION, [r.sessionKey(key)], [t])),
  )) as [number, string | null | undefined][]
  const leaving: Promise<unknown>[] = []
  let removed = 0
  replies.forEach(([deleted, userId], i) => {
    if (deleted !== 1) return
    removed++
    if (userId) {
      leaving.push(r.send(c, r.userKey(userId), ['ZREM', r.userKey(userId), expired[i]!]))
    }
  })
  await Promise.all(leaving)
  return removed
}

/**
 * Sweeps one user index: entries of sessions expired at `t` (deleted now), gone (expired by
 * Redis) or bound elsewhere leave it. Returns the sessions removed: the first two kinds.
 */
export async function pruneIndex(
  r: PruneCommands,
  c: RedisLike,
  userId: string,
  t: string,
): Promise<number> {
  const index = r.userKey(userId)
  const members = (await r.send(c, index, ['ZRANGE', index, '0', '-1'])) as string[]
  const codes = (await Promise.all(
    members.map((key) => r.script(c, PRUNE_MEMBER, [r.sessionKey(key)], [userId, t])),
  )) as number[]
  const stale = members.filter((_, i) => codes[i] !== 0)
  if (stale.length > 0) await r.send(c, index, ['ZREM', index, ...stale])
  return codes.filter((code) => code === 1 || code === 2).length
}
