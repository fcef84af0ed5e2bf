/**
 * The start-up check of Redis's eviction policy. Under an `allkeys-*` policy a Redis that
 * reaches `maxmemory` deletes any key to make room, sessions included: a session vanishes and
 * its user is logged out with nothing in any log. Every session key has an expiry, so the
 * `volatile-*` policies pick among sessions first of all. Only `noeviction` refuses writes
 * instead, which the store turns into 503s that say what happened.
 * @module
 */
import type { NodeSend } from './connection.js'

/**
 * Reads `maxmemory-policy` on each master and calls `warn` once when one of them may evict
 * sessions (any policy but `noeviction`). A Redis that refuses CONFIG (many hosted ones rename it) is left unchecked, silently:
 * its provider's console shows the policy.
 */
export async function checkEviction(
  masters: NodeSend[],
  warn: (message: string) => void,
): Promise<void> {
  const policies = await Promise.all(
    masters.map((send) => send(['CONFIG', 'GET', 'maxmemory-policy']).then(policyOf, () => null)),
  )
  const evicting = policies.find((p) => p != null && p !== 'noeviction')
  if (evicting) {
    warn(
      `redis session store: Redis's maxmemory-policy is ${evicting}, so a full Redis deletes ` +
        'sessions to make room and logs their users out without a trace; set it to ' +
        'noeviction (CONFIG SET maxmemory-policy noeviction, or in redis.conf) or give sessions ' +
        'a Redis of their own',
    )
  }
}

/** The value of a CONFIG GET reply: a flat array in RESP2, a map in RESP3. */
function policyOf(reply: unknown): string | null {
  if (Array.isArray(reply)) return typeof reply[1] === 'string' ? reply[1] : null
  if (reply instanceof Map) return (reply.get('maxmemory-policy') as string | undefined) ?? null
  if (reply !== null && typeof reply === 'object') {
    const value = (reply as Record<string, unknown>)['maxmemory-policy']
    return typeof value === 'string' ? value : null
  }
  return null
}
