/**
 * Cookie sessions: the whole session travels in the cookie, signed or sealed by a codec. The
 * server keeps no session; with `generations` (revocable cookie sessions) it keeps one number
 * per user, and a cookie bound to a user is accepted only while it carries the current one.
 * @module
 */
import type {
  AnyCookieCodec,
  DecodeResult,
  DecodeSuccess,
  RejectReason,
  SessionMeta,
} from '../codecs/types.js'
import { ConfigError, SessionError } from '../errors.js'
import { keep, type Outgoing, removal, setTo } from '../transports/types.js'
import type { Generations } from './generations.js'
import { checkLifetime } from './lifetime.js'
import {
  capExpiry,
  type Draft,
  type Engine,
  type EngineContext,
  isEmpty,
  newDraft,
  resetDraft,
} from './types.js'

/** Options of the cookie engine. Durations in seconds. */
export interface CookieEngineOptions {
  /** A synchronous codec (`node:crypto`) is read on first use; an async one (Web Crypto) is awaited. */
  codec: AnyCookieCodec
  /** The session cookie's name, for display. */
  cookieName: string
  /** How long a cookie is accepted after it was last written. */
  maxAge: number
  /** How long a session lives after it began, however often it is re-issued. */
  absoluteTimeout: number
  /** Re-issue a permanent cookie on every request that reads it. */
  refresh: boolean
  /** Revocable cookie sessions: the per-user generations a bound cookie must match. */
  generations?: Generations | undefined
}

/** A verified cookie past its own lifetime: refused as expired. */
const expired: DecodeResult = Object.freeze({ ok: false, reason: 'expired' })

/** The cookie engine. */
export function createCookieEngine(options: CookieEngineOptions, ctx: EngineContext): Engine {
  const { codec, maxAge, refresh, generations } = options
  const absolute = options.absoluteTimeout * 1000
  const { now, emit, validate } = ctx
  // A format that carries a session's own lifetime is asked to accept cookies up to the
  // longest one can be; each is then held to its own (or the configured) lifetime here.
  const lifetimes = codec.lifetimes === true
  const ceiling = lifetimes ? Math.max(maxAge, options.absoluteTimeout) : maxAge

  function reject(draft: Draft, reason: RejectReason, issues?: readonly string[]): void {
    draft.rejected = reason
    emit(issues ? { type: 'rejected', reason, issues } : { type: 'rejected', reason })
  }

  const isAsync = 'async' in codec && codec.async === true
  const syncCodec = codec as Exclude<AnyCookieCodec, { async: true }>

  function loadSync(draft: Draft): boolean {
    if (draft.loaded) return true
    if (isAsync) {
      // Web Crypto answers only with a promise: `load` decodes the cookie (`checked` after).
      if (!draft.checked) return false
    } else if (!generations) {
      read(draft)
      draft.loaded = true
      return true
    } else {
      check(draft)
    }
    if (draft.loaded || !generations) {
      draft.loaded = true
      return true
    }
    const known = generations.cached(draft.user!)
    if (known === undefined) return false
    settle(draft, known)
    return true
  }

  /** Decodes the cookie, once; a session with no user needs no generation, so it is loaded. */
  function check(draft: Draft): void {
    if (draft.checked) return
    draft.checked = true
    read(draft)
    if (draft.user === null) draft.loaded = true
  }

  /** Accepts the session if its cookie carries the user's current generation. */
  function settle(draft: Draft, current: number): void {
    draft.loaded = true
    if (draft.generation === current) return
    // Revoked ("log out everywhere" since it was issued): the request is anonymous.
    draft.data = {}
    draft.user = null
    draft.permanent = false
    draft.createdAt = 0
    draft.maxAge = null
    draft.generation = 0
    draft.isNew = true
    draft.resign = false
    reject(draft, 'revoked')
  }

  async function load(draft: Draft): Promise<void> {
    if (isAsync && !draft.checked) {
      draft.loading ??= readAsync(draft)
      await draft.loading
    }
    if (loadSync(draft)) return
    settle(draft, await generations!.current(draft.user!))
  }

  /** A session bound to a user in this request must carry that user's generation: not known yet. */
  function loginDue(draft: Draft): boolean {
    return (
      generations !== undefined &&
      draft.userChanged &&
      draft.user !== null &&
      draft.accessed &&
      !draft.committed &&
      !draft.destroyed
    )
  }

  function read(draft: Draft): void {
    let found: DecodeSuccess | null = null
    let foundValue = ''
    let refused: RejectReason | null = draft.incoming.refused
    const t = now()
    for (const value of refused === null ? draft.cookies : []) {
      if (value === '' || value === foundValue) continue
      const result = syncCodec.decode(value, { now: t, maxAge: ceiling })
      if (!result.ok) {
        refused ??= result.reason
        continue
      }
      if (outlived(result, t)) {
        refused ??= 'expired'
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
    accept(draft, found, refused)
  }

  /** `read` for an async codec: every distinct value decoded at once, then judged as there. */
  async function readAsync(draft: Draft): Promise<void> {
    // A value the transport refused (a chunked cookie with a gap, too large) is not decoded.
    const refused = draft.incoming.refused
    const values =
      refused === null ? [...new Set(draft.cookies)].filter((value) => value !== '') : []
    const t = now()
    const results = (
      await Promise.all(values.map((value) => codec.decode(value, { now: t, maxAge: ceiling })))
    ).map((result): DecodeResult => (result.ok && outlived(result, t) ? expired : result))
    draft.loading = null
    draft.checked = true
    const valid = results.filter((result) => result.ok)
    if (valid.length > 1) reject(draft, 'malformed')
    else accept(draft, valid[0] ?? null, refused ?? results.find((r) => !r.ok)?.reason ?? null)
    // A session with no user needs no generation.
    if (draft.user === null) draft.loaded = true
  }

  /** Whether a cookie that verified is past its session's own lifetime (or the configured one). */
  function outlived(result: DecodeSuccess, t: number): boolean {
    return lifetimes && t - result.issuedAt >= (result.meta.maxAge ?? maxAge) * 1000
  }

  /** Fills the draft from the one valid cookie, or records why there was none. */
  function accept(draft: Draft, found: DecodeSuccess | null, refused: RejectReason | null): void {
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
    draft.maxAge = found.meta.maxAge ?? null
    draft.createdAt = created
    draft.generation = found.meta.generation ?? 0
    draft.isNew = false
    draft.rejected = null
    // Signed with an older secret: re-issue under the current one.
    draft.resign = found.keyIndex > 0
  }

  /** What the commit is, when no cookie value has to be encoded; null when one has. */
  function decide(draft: Draft): Outgoing | null {
    if (!draft.accessed || draft.committed) return keep(draft.accessed)
    if (draft.destroyed || (isEmpty(draft.data) && draft.user === null)) {
      draft.committed = true
      return draft.modified ? removal(true) : keep(true)
    }
    // `touch()` re-issues the cookie: its lifetime runs from its last write.
    if (!draft.modified && !draft.resign && !draft.touched && !(draft.permanent && refresh)) {
      draft.committed = true
      return keep(true)
    }
    return null
  }

  /** The new cookie value's metadata and its expiry, at `t`. */
  function issue(draft: Draft, t: number) {
    // A new or regenerated session starts its absolute timeout now; a re-issued one keeps it.
    const created = draft.isNew || draft.regenerate ? t : draft.createdAt
    const expiresAt = Math.min(t + (draft.maxAge ?? maxAge) * 1000, created + absolute)
    const meta: SessionMeta = {
      user: draft.user,
      createdAt: created,
      permanent: draft.permanent,
      generation: draft.generation,
    }
    if (draft.maxAge !== null) meta.maxAge = draft.maxAge
    return { meta, expires: draft.permanent ? capExpiry(expiresAt, t) : undefined }
  }

  function commitSync(draft: Draft): Outgoing | null {
    if (loginDue(draft)) return null
    const decided = decide(draft)
    if (decided || isAsync) return decided
    draft.committed = true
    const t = now()
    const { meta, expires } = issue(draft, t)
    return setTo(syncCodec.encode(draft.data, meta, t), expires)
  }

  return {
    kind: 'cookie',
    description: `cookie/${codec.format}`,
    cookieName: options.cookieName,
    reservedKeys: codec.reservedKeys,
    keyed: false,
    loadsAsync: generations !== undefined || isAsync,
    open(incoming, who, https) {
      const draft = newDraft(incoming, who, https)
      const none = incoming.values.length === 0 && incoming.refused === null
      // Without generations nothing is deferred to `check`: the cookie is decoded on first use.
      draft.checked = (!generations && !isAsync) || none
      if (none) draft.loaded = true
      return draft
    },
    // An async codec's cookie is decoded by `load` alone.
    check: generations && !isAsync ? check : () => {},
    loadSync,
    load,
    async reload(draft) {
      if (draft.committed) {
        throw new SessionError(
          'RELOAD_AFTER_SAVE',
          "a cookie session cannot be reloaded after `session.save()`: the request's cookie " +
            'no longer holds it; reload before saving',
        )
      }
      resetDraft(draft)
      // As `open` left it: the cookie is decoded again (and its generation checked again).
      const none = draft.cookies.length === 0 && draft.incoming.refused === null
      draft.checked = (!generations && !isAsync) || none
      if (none) draft.loaded = true
      await load(draft)
    },
    checkMaxAge(seconds) {
      if (!lifetimes) {
        throw new SessionError(
          'INVALID_MAX_AGE',
          `the ${codec.format} cookie format has no per-session lifetime (a Flask app reads ` +
            'PERMANENT_SESSION_LIFETIME alone); set `maxAge` for every session instead',
        )
      }
      checkLifetime(seconds, options.absoluteTimeout)
    },
    async commit(draft) {
      if (loginDue(draft)) {
        draft.generation = await generations!.forLogin(draft.user!)
        draft.userChanged = false
      }
      const decided = commitSync(draft)
      if (decided) return decided
      draft.committed = true
      const t = now()
      const { meta, expires } = issue(draft, t)
      return setTo(await codec.encode(draft.data, meta, t), expires)
    },
    commitSync,
    async close() {},
  }
}
