/**
 * Saying so when the session store cannot work. Without this, a store that refuses the demo
 * (a wrong password, a server that is not running) shows only as a 503 on every page, and
 * nothing in the log says why. Two parts: a check at start-up, and the store errors of
 * requests, logged once per distinct error a minute rather than once per request.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { SessionEvent, Store } from 'tessera'

/** Where the lines go: `console.error` by default. */
export type LogLine = (line: string) => void

/**
 * What to do about a store error, from its cause: the codes the Node.js socket layer, Redis
 * and PostgreSQL give for the usual mistakes in `SESSION_STORE`.
 */
export function storeFix(error: unknown): string {
  const text = describe(error)
  const codes = causeCodes(error)
  if (codes.has('ECONNREFUSED') || codes.has('EHOSTUNREACH') || codes.has('ENOTFOUND')) {
    return 'Is the store running, at the host and port in SESSION_STORE?'
  }
  // 28P01: wrong password; 28000: no such role or no pg_hba entry; 3D000: no such database.
  if (codes.has('28P01') || codes.has('28000') || /WRONGPASS|NOAUTH|password/i.test(text)) {
    return 'Check the user name and password in SESSION_STORE.'
  }
  if (codes.has('3D000')) return 'Create the database named in SESSION_STORE, or name another.'
  if (/timed? ?out/i.test(text)) {
    return 'The store did not answer in time: is it running, and reachable from here?'
  }
  return 'Check SESSION_STORE, and that the store is running.'
}

/**
 * One `get` of a random key, within `timeoutMs`: whether the store answers at all. Null when it
 * does, else the error. A store that is configured right but unreachable is reported at start-up
 * this way, and the demo still starts: the store's client reconnects, and the site heals.
 */
export async function checkStore(store: Store, timeoutMs = 2000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([store.get(randomBytes(32).toString('base64url')), timeout])
    return null
  } catch (error) {
    return error
  } finally {
    clearTimeout(timer)
  }
}

/** The start-up line for a store that failed `checkStore`. */
export function startupProblem(storeName: string, error: unknown): string {
  return (
    `tessera demo: the session store "${storeName}" does not work (${describe(error)}). ` +
    `${storeFix(error)} The site starts anyway: pages that need a session answer 503 until ` +
    'the store answers, and work again by themselves when it does.'
  )
}

/**
 * Logs the `store_error` events of `sessions`, at most one line per distinct error per
 * `intervalMs`, with how many were left out since: a store outage fails every request, and a
 * line for each would bury the log (and cost the server more than the outage).
 */
export function logStoreErrors(
  sessions: { on(listener: (event: SessionEvent) => void): () => void },
  options: { log?: LogLine; intervalMs?: number; now?: () => number } = {},
): () => void {
  const log = options.log ?? ((line) => console.error(line))
  const intervalMs = options.intervalMs ?? 60_000
  const now = options.now ?? Date.now
  // Per distinct message: when it was last logged, and how many came since. Bounded: a store
  // gives few distinct messages, but the map is cleared when it grows past a handful.
  const seen = new Map<string, { at: number; skipped: number }>()
  return sessions.on((event) => {
    if (event.type !== 'store_error') return
    const message = event.error.message
    const t = now()
    const last = seen.get(message)
    if (last && t - last.at < intervalMs) {
      last.skipped++
      return
    }
    if (seen.size >= 32) seen.clear()
    const more = last?.skipped ? ` ${last.skipped} more like it since the last report.` : ''
    seen.set(message, { at: t, skipped: 0 })
    log(`tessera demo: ${message}.${more} ${storeFix(event.error)}`)
  })
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause
  // A StoreError's message already ends with its cause's.
  if (cause instanceof Error && !error.message.includes(cause.message)) {
    return `${error.message}: ${cause.message}`
  }
  return error.message
}

/** The `code` of `error` and of each error in its cause chain (and in an AggregateError's). */
function causeCodes(error: unknown, depth = 0): Set<string> {
  const codes = new Set<string>()
  if (depth > 4 || !(error instanceof Error)) return codes
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') codes.add(code)
  const nested = [error.cause, ...(error instanceof AggregateError ? error.errors : [])]
  for (const inner of nested) for (const c of causeCodes(inner, depth + 1)) codes.add(c)
  return codes
}
