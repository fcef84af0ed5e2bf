/**
 * The names in a file store's folder, and the format of a session file.
 *
 * - `<key>.json`: one session (see `encode`).
 * - `<key>.lock`: held during a read-modify-write (see `lock.ts`).
 * - `<nonce>.owner`: one per open store: its pid, nonce and host.
 * - `<key>.json.<nonce>-<n>.tmp`: a write in flight, or left by a crash (swept by `prune`).
 * - `users/<sha256 of user id>/<key>`: empty markers, the index behind `listByUser`.
 * @module
 */
import { readSession } from '../common/record.js'
import type { StoredSession } from '../types.js'

/** Store keys are base64url hashes; anything else could name a path outside the folder. */
export const keyPattern = /^[A-Za-z0-9_-]{16,128}$/
export const sessionName = /^([A-Za-z0-9_-]{16,128})\.json$/
export const tempName = /\.([0-9a-f]{12})-\d+\.(?:tmp|stale)$/
export const ownerName = /^([0-9a-f]{12})\.owner$/

/** Throws a TypeError for a key that is not a store key: it could name another path. */
export function checkKey(key: string): void {
  if (!keyPattern.test(key)) {
    throw new TypeError(
      'the file session store was given a key that is not 16 to 128 base64url characters',
    )
  }
}

export function encode(s: StoredSession): string {
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
export function decode(text: string): StoredSession | null {
  try {
    // A fresh parse, this read's alone: checked in place.
    return readSession(JSON.parse(text), false)
  } catch {
    return null
  }
}

/** The pid, nonce and host in an owner file (or a lock linked to one). */
export function parseOwner(text: string): { pid: number; nonce: string; host: string } | null {
  const match = /^(\d+) ([0-9a-f]{12}) (.+)\n$/.exec(text)
  return match ? { pid: Number(match[1]), nonce: match[2]!, host: match[3]! } : null
}
