/**
 * Cookie sessions: the whole session travels in the cookie, signed or sealed by a codec. The
 * server keeps nothing, so there is nothing to list or revoke.
 * @module
 */
import type { CookieCodec, DecodeSuccess, RejectReason } from '../codecs/types.js'
import { ConfigError } from '../errors.js'
import { keep, type Outgoing, removal, setTo } from '../transports/types.js'
import {
  capExpiry,
  type Draft,
  type Engine,
  type EngineContext,
  isEmpty,
  newDraft,
} from './types.js'

/** Options of the cookie engine. Durations in seconds. */
export interface CookieEngineOptions {
  codec: CookieCodec
  /** The session cookie's name, for display. */
  cookieName: string
  /** How long a cookie is accepted after it was last written. */
  maxAge: number
  /** How long a session lives after it began, however often it is re-issued. */
  absoluteTimeout: number
  /** Re-issue a permanent cookie on every request that reads it. */
  refresh: boolean
}

/** The cookie engine. */
export function createCookieEngine(options: CookieEngineOptions, ctx: EngineContext): Engine {
  const { codec, maxAge, refresh } = options
  const absolute = options.absoluteTimeout * 1000
  const { now, emit, validate } = ctx

  function reject(draft: Draft, reason: RejectReason, issues?: readonly string[]): void {
    draft.rejected = reason
    emit(issues ? { type: 'rejected', reason, issues } : { type: 'rejected', reason })
  }

  function loadSync(draft: Draft): boolean {
    if (!draft.loaded) {
      read(draft)
      draft.loaded = true
    }
    return true
  }

  function read(draft: Draft): void {
    let found: DecodeSuccess | null = null
    let foundValue = ''
    let refused: RejectReason | null = draft.incoming.refused
    for (const value of refused === null ? draft.cookies : []) {
      if (value === '' || value === foundValue) continue
      const result = codec.decode(value, { now: now(), maxAge })
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

  function commitSync(draft: Draft): Outgoing {
    if (!draft.accessed || draft.committed) return keep(draft.accessed)
    draft.committed = true
    if (draft.destroyed || (isEmpty(draft.data) && draft.user === null)) {
      return draft.modified ? removal(true) : keep(true)
    }
    if (!draft.modified && !draft.resign && !(draft.permanent && refresh)) return keep(true)
    const t = now()
    // A new or regenerated session starts its absolute timeout now; a re-issued one keeps it.
    const created = draft.isNew || draft.regenerate ? t : draft.createdAt
    const value = codec.encode(
      draft.data,
      { user: draft.user, createdAt: created, permanent: draft.permanent },
      t,
    )
    const expiresAt = Math.min(t + maxAge * 1000, created + absolute)
    return setTo(value, draft.permanent ? capExpiry(expiresAt, t) : undefined)
  }

  return {
    kind: 'cookie',
    description: `cookie/${codec.format}`,
    cookieName: options.cookieName,
    reservedKeys: codec.reservedKeys,
    keyed: false,
    open(incoming, who) {
      const draft = newDraft(incoming, who)
      draft.checked = true
      if (incoming.values.length === 0 && incoming.refused === null) draft.loaded = true
      return draft
    },
    check() {},
    loadSync,
    async load(draft) {
      loadSync(draft)
    },
    async commit(draft) {
      return commitSync(draft)
    },
    commitSync,
    async close() {},
  }
}
