/**
 * The Lua scripts of the Redis store, and the reading of a session hash. Each script touches
 * one key, so it runs in one Redis Cluster slot.
 * @module
 */
import { createHash } from 'node:crypto'
import { readSession } from '../common/record.js'
import type { SessionPatch, SessionSummary, StoredSession } from '../types.js'

/** The meta fields, in the order `metaSummary` reads them. */
export const META = ['m:u', 'm:c', 'm:l', 'm:e', 'm:p', 'm:a', 'm:i']

export interface Script {
  readonly source: string
  readonly sha: string
}

function lua(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

// Lua's unpack() is bounded by the C stack, so long argument lists are applied in chunks.
const CHUNKED = `
local function apply(cmd, key, list, from, to, step)
  local batch = {}
  for i = from, to do
    batch[#batch + 1] = list[i]
    if #batch >= step then
      redis.call(cmd, key, unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then redis.call(cmd, key, unpack(batch)) end
end
`

/** KEYS[1] = session; ARGV = pexpireat, now, field, value, ... */
export const CREATE = lua(`${CHUNKED}
redis.call('DEL', KEYS[1])
if tonumber(ARGV[1]) <= tonumber(ARGV[2]) then return 0 end
apply('HSET', KEYS[1], ARGV, 3, #ARGV, 1000)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`)

/**
 * KEYS[1] = session; ARGV = now, clear, user mode ('' | 'n' | 's'), user id, permanent,
 * lastSeenAt, expiresAt, pexpireat, unset count, unset fields..., set field, value, ...
 * Returns {applied, user before, user after, expiresAt}.
 */
export const UPDATE = lua(`${CHUNKED}
local k = KEYS[1]
local e = redis.call('HGET', k, 'm:e')
if not e or tonumber(e) <= tonumber(ARGV[1]) then return {0} end
local before = redis.call('HGET', k, 'm:u')
if ARGV[2] == '1' then
  local names = redis.call('HKEYS', k)
  local data = {}
  for _, name in ipairs(names) do
    if string.sub(name, 1, 2) == 'd:' then data[#data + 1] = name end
  end
  apply('HDEL', k, data, 1, #data, 1000)
end
local unset = tonumber(ARGV[9])
if unset > 0 then apply('HDEL', k, ARGV, 10, 9 + unset, 1000) end
if #ARGV > 9 + unset then apply('HSET', k, ARGV, 10 + unset, #ARGV, 1000) end
local after = before
if ARGV[3] == 'n' then
  redis.call('HDEL', k, 'm:u')
  after = false
elseif ARGV[3] == 's' then
  redis.call('HSET', k, 'm:u', ARGV[4])
  after = ARGV[4]
end
if ARGV[5] ~= '' then redis.call('HSET', k, 'm:p', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', k, 'm:l', ARGV[6]) end
if ARGV[7] ~= '' then
  redis.call('HSET', k, 'm:e', ARGV[7])
  redis.call('PEXPIREAT', k, ARGV[8])
  e = ARGV[7]
end
return {1, before, after, e}
`)

/** KEYS[1] = session. Deletes it and returns the user it was bound to. */
export const DESTROY = lua(`
local user = redis.call('HGET', KEYS[1], 'm:u')
redis.call('DEL', KEYS[1])
return user
`)

/** KEYS[1] = session; ARGV = user id, now. Deletes it if it is the user's; 1 if it was live. */
export const DESTROY_IF_USER = lua(`
local meta = redis.call('HMGET', KEYS[1], 'm:u', 'm:e')
if meta[1] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if meta[2] and tonumber(meta[2]) > tonumber(ARGV[2]) then return 1 end
return 2
`)

/**
 * KEYS[1] = session; ARGV = now. Deletes the session if it has expired by the store's clock
 * (Redis's own may lag it); returns {1, user} when it did, {0} otherwise.
 */
export const PRUNE_SESSION = lua(`
local meta = redis.call('HMGET', KEYS[1], 'm:e', 'm:u')
if not meta[1] or tonumber(meta[1]) > tonumber(ARGV[1]) then return {0} end
redis.call('DEL', KEYS[1])
return {1, meta[2]}
`)

/**
 * KEYS[1] = session; ARGV = user id, now. What a user index entry of this session is worth:
 * 0 live and the user's (kept); 1 expired, and deleted now; 2 gone (Redis expired it); 3 bound
 * to someone else, or no session (a stale entry, but no session of this user removed).
 */
export const PRUNE_MEMBER = lua(`
local meta = redis.call('HMGET', KEYS[1], 'm:u', 'm:e')
if not meta[1] and not meta[2] and redis.call('EXISTS', KEYS[1]) == 0 then return 2 end
if meta[1] ~= ARGV[1] or not meta[2] then return 3 end
if tonumber(meta[2]) > tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

/** The hash fields of a session, as `CREATE` takes them: field, value, ... */
export function hashFields(session: StoredSession): string[] {
  const fields: string[] = []
  for (const name of Object.keys(session.data)) fields.push(`d:${name}`, session.data[name]!)
  fields.push('m:c', String(session.createdAt), 'm:l', String(session.lastSeenAt))
  fields.push('m:e', String(session.expiresAt), 'm:p', session.permanent ? '1' : '0')
  if (session.userId !== null) fields.push('m:u', session.userId)
  if (session.userAgent !== null) fields.push('m:a', session.userAgent)
  if (session.ip !== null) fields.push('m:i', session.ip)
  return fields
}

/** The ARGV of `UPDATE` for one patch, read at `now`. */
export function updateArgs(patch: SessionPatch, now: number): string[] {
  const args = [
    String(now),
    patch.clear ? '1' : '0',
    patch.userId === undefined ? '' : patch.userId === null ? 'n' : 's',
    patch.userId ?? '',
    patch.permanent === undefined ? '' : patch.permanent ? '1' : '0',
    patch.lastSeenAt === undefined ? '' : String(patch.lastSeenAt),
    patch.expiresAt === undefined ? '' : String(patch.expiresAt),
    patch.expiresAt === undefined ? '' : String(Math.ceil(patch.expiresAt)),
    String(patch.unset?.length ?? 0),
  ]
  if (patch.unset) for (const name of patch.unset) args.push(`d:${name}`)
  if (patch.set) for (const name of Object.keys(patch.set)) args.push(`d:${name}`, patch.set[name]!)
  return args
}

/** A session from an HGETALL reply (a flat array in RESP2, a map in RESP3), or null. */
export function parse(reply: unknown, now: number): StoredSession | null {
  // Without a prototype, a field named `d:__proto__` is kept as a key (and refused as one).
  const data: Record<string, string> = Object.create(null)
  const meta: Record<string, string> = Object.create(null)
  let fields = 0
  // Fields go straight into the record: this runs on every request that reads a session.
  const take = (field: string, value: string) => {
    fields++
    if (field.startsWith('d:')) data[field.slice(2)] = value
    else meta[field] = value
  }
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) take(String(reply[i]), String(reply[i + 1]))
  } else if (reply instanceof Map) {
    for (const [f, v] of reply) take(String(f), String(v))
  } else if (reply !== null && typeof reply === 'object') {
    for (const [f, v] of Object.entries(reply)) take(f, String(v))
  }
  if (fields === 0) return null
  // A hash without its meta fields is no session (the numbers read back as NaN and fail the
  // check). Redis and this process may disagree on the time by a few ms: the store's clock
  // decides.
  // `data` is built here, without a prototype: checked in place.
  const session = readSession(
    {
      data,
      userId: meta['m:u'] ?? null,
      createdAt: Number(meta['m:c']),
      lastSeenAt: Number(meta['m:l']),
      expiresAt: Number(meta['m:e']),
      permanent: meta['m:p'] === '1',
      userAgent: meta['m:a'] ?? null,
      ip: meta['m:i'] ?? null,
    },
    false,
  )
  return session && session.expiresAt > now ? session : null
}

/** The summary of a live session from its `META` fields, or null when it is no live session. */
export function metaSummary(
  key: string,
  meta: readonly (string | null | undefined)[],
  now: number,
): SessionSummary | null {
  const [user, createdAt, lastSeenAt, expiresAt, , userAgent, ip] = meta
  if (createdAt == null || expiresAt == null || !(Number(expiresAt) > now)) return null
  return {
    key,
    userId: user ?? null,
    createdAt: Number(createdAt),
    lastSeenAt: Number(lastSeenAt),
    expiresAt: Number(expiresAt),
    userAgent: userAgent ?? null,
    ip: ip ?? null,
  }
}
