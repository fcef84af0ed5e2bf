/**
 * Flash messages, as Flask's `flash()` and `get_flashed_messages()`: a message kept in the
 * session until the next request that shows it, so it survives a redirect.
 *
 * With a server-side store each message is its own session key (`_flash:<time><random>`), so
 * two concurrent requests that flash never overwrite each other. Cookie sessions keep Flask's
 * `_flashes` list, so a Flask app sharing the cookie shows tessera's messages and the reverse.
 * @module
 */
import { randomToken } from '../primitives/random.js'
import { isKeyed } from '../session/handle.js'
import type { Session } from '../session/session.js'

const listKey = '_flashes'
const keyPrefix = '_flash:'

let sequence = 0

/** Messages already taken from a session during this request, as Flask caches them. */
const taken = new WeakMap<object, [string, string][]>()

/** Keeps `message` for the next request that asks for flashed messages. */
export function flash<T extends object>(
  session: Session<T>,
  message: string,
  category = 'message',
): void {
  const s = session as unknown as Session<Record<string, unknown>>
  if (isKeyed(session)) {
    // Time and a counter first, so sorting the keys gives the order of the flashes.
    sequence = (sequence + 1) % 36 ** 4
    const stamp = `${Date.now().toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}`
    const key = `${keyPrefix}${stamp}${randomToken(6)}`
    s.set(key, [category, message])
    return
  }
  const list = (s.get(listKey) as unknown[] | undefined) ?? []
  s.set(listKey, [...list, [category, message]])
}

/** Options of `getFlashedMessages`, as Flask's. */
export interface FlashOptions {
  /** Return `[category, message]` pairs rather than messages. @default false */
  withCategories?: boolean
  /** Return only messages of these categories. */
  categoryFilter?: readonly string[]
}

/**
 * The messages flashed since they were last shown, oldest first, removed from the session.
 * Asking again in the same request gives the same messages.
 */
export function getFlashedMessages<T extends object>(
  session: Session<T>,
  options?: FlashOptions & { withCategories?: false },
): string[]
export function getFlashedMessages<T extends object>(
  session: Session<T>,
  options: FlashOptions & { withCategories: true },
): [string, string][]
export function getFlashedMessages<T extends object>(
  session: Session<T>,
  options: FlashOptions = {},
): string[] | [string, string][] {
  let all = taken.get(session)
  if (!all) {
    all = take(session as unknown as Session<Record<string, unknown>>)
    taken.set(session, all)
  }
  const filter = options.categoryFilter
  const chosen = filter?.length ? all.filter(([category]) => filter.includes(category)) : all
  return options.withCategories
    ? chosen.map(([c, m]): [string, string] => [c, m])
    : chosen.map(([, m]) => m)
}

function take(session: Session<Record<string, unknown>>): [string, string][] {
  const messages: [string, string][] = []
  const list = session.has(listKey) ? session.pop(listKey) : undefined
  if (Array.isArray(list)) for (const entry of list) push(messages, entry)
  const keys = session
    .keys()
    .filter((key) => key.startsWith(keyPrefix))
    .sort()
  for (const key of keys) push(messages, session.pop(key))
  return messages
}

function push(messages: [string, string][], entry: unknown): void {
  if (Array.isArray(entry) && entry.length === 2) {
    messages.push([String(entry[0]), String(entry[1])])
  }
}
