/**
 * Cookie sessions: the whole session travels in the cookie, signed or sealed by a codec. The
 * server keeps nothing, so there is nothing to list or revoke.
 * @module
 */
import type { AnyCookieCodec, DecodeSuccess, RejectReason } from '../codecs/types.js'
import { ConfigError } from '../errors.js'
import type { CookieWriter } from '../transports/cookie.js'
import {
  type CommitResult,
  capExpiry,
  type Draft,
  type Engine,
  type EngineContext,
  isEmpty,
  newDraft,
} from './types.js'

/** Options of the cookie engine. Durations in seconds. */
export interface CookieEngineOptions {
  /** A synchronous codec (`node:crypto`) is read on first use; an async one (Web Crypto) is awaited. */
  codec: AnyCookieCodec
  cookie: CookieWriter
  /** How long a cookie is accepted after it was last written. */
  maxAge: number
  /** How long a session lives after it began, however often it is re-issued. */
  absoluteTimeout: number
  /** Re-issue a permanent cookie on every request that reads it. */
  refresh: boolean
}

/** The cookie engine. */
export function createCookieEngine(options: CookieEngineOptions, ctx: EngineContext): Engine {
  const { codec, cookie, maxAge, refresh } = options
  const absolute = options.absoluteTimeout * 1000
  const { now, emit, validate } = ctx

  function reject(draft: Draft, reason: RejectReason, issues?: readonly string[]): void {
    draft.rejected = reason
    emit(issues ? { type: 'rejected', reason, issues } : { type: 'rejected', reason })
  }

  const isAsync = 'async' in codec && codec.async === true

  function loadSync(draft: Draft): boolean {
    if (!draft.loaded) {
      if (isAsync) return false
      read(draft)
      draft.loaded = true
    }
    return true
  }

  function read(draft: Draft): void {
    const sync = codec as Exclude<AnyCookieCodec, { async: true }>
    let found: DecodeSuccess | null = null
    let foundValue = ''
    let refused: RejectReason | null = null
    for (const value of draft.cookies) {
      if (value === '' || value === foundValue) continue
      const result = sync.decode(value, { now: now(), maxAge })
      if (!result.ok) {
        refused ??= result.reason
        continue
      }
      if (found) {
        // Two different valid session cookies: which one the browser meant cannot be known.
        reject(draft, 'malformed')
        return
      }
      found = result
      foundValue = value
    }
    settle(draft, found, refused)
  }

  async function load(draft: Draft): Promise<void> {
    if (draft.loaded) return
    if (!isAsync) {
      loadSync(draft)
      return
    }
    draft.loading ??= readAsync(draft)
    await draft.loading
  }

  /** `read` for an async codec: every distinct value decoded at once, then judged as there. */
  async function readAsync(draft: Draft): Promise<void> {
    const values = [...new Set(draft.cookies)].filter((value) => value !== '')
    const results = await Promise.all(
      values.map((value) => codec.decode(value, { now: now(), maxAge })),
    )
    draft.loading = null
    draft.loaded = true
    const valid = results.filter((result) => result.ok)
    if (valid.length > 1) reject(draft, 'malformed')
    else settle(draft, valid[0] ?? null, results.find((result) => !result.ok)?.reason ?? null)
  }

  /** Fills the draft from the one valid cookie, or records why there was none. */
  function settle(draft: Draft, found: DecodeSuccess | null, refused: RejectReason | null): void {
    // One event per request, however many bad values it carried: logs must not amplify.
    if (!found) {
      if (refused) reject(draft, refused)
      return
    }
    // When the session began, for the absolute timeout; a Flask cookie does not say, so there
    // each write starts the clock again.
    const created = found.meta.createdAt ?? found.issuedAt
    if (now() - created >= absolute) {
      reject(draft, 'expired')
      return
    }
    const checked = validate(found.data)
    if (checked instanceof Promise) {
      throw new ConfigError(
        'the session schema validates asynchronously, but cookie sessions load synchronously; ' +
          'use a synchronous schema',
      )
    }
    if (!checked.data) {
      reject(draft, 'invalid_data', checked.issues)
      return
    }
    draft.data = checked.data
    draft.user = found.meta.user
    draft.permanent = found.meta.permanent
    draft.createdAt = created
    draft.isNew = false
    draft.rejected = null
    // Signed with an older secret: re-issue under the current one.
    draft.resign = found.keyIndex > 0
  }

  /** What the commit is, when no cookie value has to be encoded; null when one has. */
  function decide(draft: Draft): CommitResult | null {
    if (!draft.accessed || draft.committed) return { setCookie: null, vary: draft.accessed }
    if (draft.destroyed || (isEmpty(draft.data) && draft.user === null)) {
      draft.committed = true
      return { setCookie: draft.modified ? cookie.remove() : null, vary: true }
    }
    if (!draft.modified && !draft.resign && !(draft.permanent && refresh)) {
      draft.committed = true
      return { setCookie: null, vary: true }
    }
    return null
  }

  /** The new cookie value's metadata and its expiry, at `t`. */
  function issue(draft: Draft, t: number) {
    // A new or regenerated session starts its absolute timeout now; a re-issued one keeps it.
    const created = draft.isNew || draft.regenerate ? t : draft.createdAt
    const expiresAt = Math.min(t + maxAge * 1000, created + absolute)
    return {
      meta: { user: draft.user, createdAt: created, permanent: draft.permanent },
      expires: draft.permanent ? capExpiry(expiresAt, t) : undefined,
    }
  }

  function commitSync(draft: Draft): CommitResult | null {
    const decided = decide(draft)
    if (decided || isAsync) return decided
    draft.committed = true
    const t = now()
    const { meta, expires } = issue(draft, t)
    const value = (codec as Exclude<AnyCookieCodec, { async: true }>).encode(draft.data, meta, t)
    return { setCookie: cookie.set(value, expires), vary: true }
  }

  async function commit(draft: Draft): Promise<CommitResult> {
    const decided = commitSync(draft)
    if (decided) return decided
    draft.committed = true
    const t = now()
    const { meta, expires } = issue(draft, t)
    const value = await codec.encode(draft.data, meta, t)
    return { setCookie: cookie.set(value, expires), vary: true }
  }

  return {
    kind: 'cookie',
    description: `cookie/${codec.format}`,
    cookieName: cookie.name,
    reservedKeys: codec.reservedKeys,
    keyed: false,
    open(cookies, who) {
      const draft = newDraft(cookies, who)
      draft.checked = true
      if (cookies.length === 0) draft.loaded = true
      return draft
    },
    asyncLoad: isAsync,
    check() {},
    loadSync,
    load,
    commit,
    commitSync,
    async close() {},
  }
}
