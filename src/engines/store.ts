/**
 * Store sessions: the cookie carries a signed random id, the data lives in a `Store` under the
 * id's SHA-256. Each request's changes are saved key by key, so concurrent requests that change
 * different keys both keep theirs, and a session revoked while a request ran is never written
 * back.
 * @module
 */
import type { TaggedJSON } from '../codecs/tagged-json.js'
import type { RejectReason } from '../codecs/types.js'
import { StoreError } from '../errors.js'
import { sha256 } from '../primitives/keys.js'
import { randomToken } from '../primitives/random.js'
import type { SessionPatch, SessionSummary, Store } from '../stores/types.js'
import { keep, type Outgoing, removal, setTo } from '../transports/types.js'
import { checkedIds, createIdSigner } from './ids.js'
import { checkLifetime, decodeData, maxAgeKey } from './lifetime.js'
import { createStoreCalls } from './store-calls.js'
import { startSweeper } from './sweeper.js'
import {
  capExpiry,
  type Draft,
  type Engine,
  type EngineContext,
  isEmpty,
  newDraft,
  resetDraft,
  type Validated,
} from './types.js'

/** Options of the store engine. Durations in seconds. */
export interface StoreEngineOptions {
  store: Store
  /** The session cookie's name, which the id's signature covers. */
  cookieName: string
  /** The app's secrets, newest first: the first signs session ids, all verify them. */
  secrets: readonly Uint8Array[]
  /** How values are written into the store. */
  json: TaggedJSON
  idleTimeout: number
  absoluteTimeout: number
  /** The idle expiry is refreshed at most once per this interval. */
  touchInterval: number
  /** Seconds between background prunes; 0 for none. */
  pruneInterval: number
  /** Seconds a store call may take. */
  storeTimeout: number
  /** Makes a session id, in place of 32 random bytes; see `checkGenid` in `./ids.ts`. */
  genid?: (() => string) | undefined
}

/** The store engine, with the operations on sessions other than the request's own. */
export interface StoreEngine extends Engine {
  readonly kind: 'store'
  readonly store: Store
  listByUser(userId: string): Promise<SessionSummary[]>
  destroyByUser(userId: string, options?: { except?: string }): Promise<number>
  destroy(key: string): Promise<void>
  /** Present when the store has `list`. */
  list?(options?: { limit?: number }): Promise<SessionSummary[]>
  /** Present when the store has `prune`. */
  prune?(options?: PruneOptions): Promise<number>
}

/** Options of a prune. */
export interface PruneOptions {
  /** Called after each batch with the running total. */
  onProgress?: (removedSoFar: number) => void
}

/** The store engine. */
export function createStoreEngine(options: StoreEngineOptions, ctx: EngineContext): StoreEngine {
  const { store, json } = options
  const { now, emit, validate } = ctx
  const name = options.cookieName
  const idle = options.idleTimeout * 1000
  const genid = options.genid
  const { sign: signId, unsign: unsignId } = createIdSigner(
    options.secrets,
    name,
    genid !== undefined,
  )
  const newId = genid ? checkedIds(genid) : () => randomToken(32)
  const absolute = options.absoluteTimeout * 1000
  const touchInterval = options.touchInterval * 1000
  const timeout = options.storeTimeout * 1000
  /** Runs a store operation within the store timeout; failures become `StoreError`s. */
  const call = createStoreCalls(store, timeout, emit)
  const sweeper = startSweeper(store, options.pruneInterval, (cause) =>
    emit({
      type: 'store_error',
      error: new StoreError(store.name, 'prune expired sessions', { cause }),
    }),
  )

  function reject(draft: Draft, reason: RejectReason, issues?: readonly string[]): void {
    draft.rejected = reason
    emit(issues ? { type: 'rejected', reason, issues } : { type: 'rejected', reason })
  }

  /** Which id the cookie carries, if any is validly signed: the half of `open` left for later. */
  function check(draft: Draft): void {
    if (draft.checked) return
    draft.checked = true
    let found: { id: string; keyIndex: number } | null = null
    let refused = false
    if (draft.incoming.refused !== null) reject(draft, draft.incoming.refused)
    for (const value of draft.rejected === null ? draft.cookies : []) {
      if (value === '') continue
      const signed = unsignId(value)
      if (!signed) {
        refused = true
        continue
      }
      if (found && found.id !== signed.id) {
        // Two different valid ids: which one the browser meant cannot be known.
        reject(draft, 'malformed')
        found = null
        break
      }
      found = signed
    }
    // One event per request, however many bad values it carried: logs must not amplify.
    if (!found && refused && draft.rejected === null) reject(draft, 'bad_signature')
    if (found) {
      draft.rejected = null
      draft.id = found.id
      draft.storeKey = sha256(found.id)
      draft.resign = found.keyIndex > 0
    } else {
      draft.loaded = true
    }
  }

  /** The idle expiry from `t`, within the absolute one: the session's own lifetime if it has one. */
  function expiryFor(draft: Draft, createdAt: number, t: number): number {
    const lifetime = draft.maxAge === null ? idle : draft.maxAge * 1000
    return Math.min(t + lifetime, createdAt + absolute)
  }

  async function read(draft: Draft): Promise<void> {
    const key = draft.storeKey!
    const record = await call('read a session', () => store.get(key))
    const t = now()
    if (!record || record.createdAt + absolute <= t || record.expiresAt <= t) {
      forget(draft)
      reject(draft, 'expired')
      return
    }
    const decoded = decodeData(record, json)
    // Awaited only when the schema is asynchronous: an await costs a turn of the microtask queue.
    let checked: Validated = { data: null }
    if (decoded) {
      const validated = validate(decoded.data)
      checked = validated instanceof Promise ? await validated : validated
    }
    if (!checked.data) {
      forget(draft)
      reject(draft, 'invalid_data', checked.issues)
      return
    }
    draft.data = checked.data
    draft.isNew = false
    draft.user = record.userId
    draft.permanent = record.permanent
    draft.maxAge = decoded!.maxAge
    draft.createdAt = record.createdAt
    draft.lastSeenAt = record.lastSeenAt
    draft.expiresAt = record.expiresAt
  }

  function load(draft: Draft): Promise<void> {
    check(draft)
    if (draft.loaded) return Promise.resolve()
    if (draft.loading) return draft.loading
    draft.loading = read(draft).then(
      () => {
        draft.loaded = true
        draft.loading = null
        draft.loadError = null
      },
      (error: unknown) => {
        draft.loading = null
        throw error
      },
    )
    return draft.loading
  }

  function cookieFor(draft: Draft, expiresAt: number): Outgoing {
    return setTo(signId(draft.id!), draft.permanent ? capExpiry(expiresAt, now()) : undefined)
  }

  /** Writes the draft as a new record under a new id; the cookie that carries it. */
  async function create(draft: Draft, t: number): Promise<Outgoing> {
    const id = newId()
    const key = sha256(id)
    const data: Record<string, string> = {}
    for (const k of Object.keys(draft.data)) data[k] = json.stringify(draft.data[k])
    if (draft.maxAge !== null) data[maxAgeKey] = String(draft.maxAge)
    const expiresAt = expiryFor(draft, t, t)
    const who = typeof draft.who === 'function' ? draft.who() : draft.who
    await call('create a session', () =>
      store.create(key, {
        data,
        userId: draft.user,
        createdAt: t,
        lastSeenAt: t,
        expiresAt,
        permanent: draft.permanent,
        userAgent: who?.userAgent ?? null,
        ip: who?.ip ?? null,
      }),
    )
    draft.id = id
    draft.storeKey = key
    return cookieFor(draft, expiresAt)
  }

  /** The answer to a request whose session ended while it ran: the cookie goes, nothing is kept. */
  function ended(draft: Draft): Outgoing {
    forget(draft)
    return removal(true)
  }

  async function commit(draft: Draft): Promise<Outgoing> {
    if (draft.loading) await draft.loading
    if (!draft.loaded || draft.committed) return keep(draft.accessed)
    draft.committed = true
    const key = draft.storeKey
    const t = now()
    const empty = isEmpty(draft.data) && draft.user === null
    const hadCookie = draft.incoming.present

    if (draft.destroyed || (key !== null && empty && draft.modified)) {
      if (key !== null) {
        await call('destroy a session', () => store.destroy(key))
        emit({ type: 'destroyed', userId: draft.user })
      }
      return hadCookie ? removal(true) : keep(true)
    }
    if (key === null) {
      if (empty) {
        // A stale or refused cookie is removed once the request looked at the session.
        const stale = hadCookie && (draft.modified || draft.rejected !== null)
        return stale && draft.accessed ? removal(true) : keep(draft.accessed)
      }
      const created = await create(draft, t)
      emit({ type: 'created', userId: draft.user })
      return created
    }
    if (draft.regenerate) {
      const created = await create(draft, t)
      const fresh = draft.storeKey!
      // The old session may have been revoked while this request ran ("log out everywhere" on
      // another device). The new record is made first, so a revocation from now on finds it
      // in the user's index; one that came before shows as the old record being gone.
      const old = await call('read a session', () => store.get(key))
      if (old === null || old.expiresAt <= t) {
        await call('destroy a session', () => store.destroy(fresh))
        return ended(draft)
      }
      await call('destroy a session', () => store.destroy(key))
      emit({ type: 'regenerated', userId: draft.user })
      return created
    }
    if (!draft.modified && !draft.touched && t - draft.lastSeenAt < touchInterval) {
      return draft.resign ? cookieFor(draft, draft.expiresAt) : keep(draft.accessed)
    }
    const expiresAt = expiryFor(draft, draft.createdAt, t)
    const patch: SessionPatch = { lastSeenAt: t, expiresAt }
    if (draft.modified) {
      const set: Record<string, string> = {}
      const unset: string[] = []
      for (const k of draft.changed ?? []) {
        if (Object.hasOwn(draft.data, k)) set[k] = json.stringify(draft.data[k])
        else unset.push(k)
      }
      patch.set = set
      patch.unset = unset
      // A clear removes every key, the lifetime's with them: it is written again.
      if (draft.maxAge !== null && (draft.maxAgeChanged || draft.cleared)) {
        set[maxAgeKey] = String(draft.maxAge)
      } else if (draft.maxAgeChanged) {
        unset.push(maxAgeKey)
      }
      if (draft.cleared) patch.clear = true
      if (draft.userChanged) patch.userId = draft.user
      patch.permanent = draft.permanent
    }
    const applied = await call('update a session', () => store.update(key, patch))
    // Revoked or expired while this request ran: never bring it back.
    if (!applied) return ended(draft)
    const reissue = draft.permanent || draft.resign
    return reissue ? cookieFor(draft, expiresAt) : keep(true)
  }

  function commitSync(draft: Draft): Outgoing | null {
    if (draft.loading) return null
    if (!draft.loaded || draft.committed) return keep(draft.accessed)
    if (draft.modified || draft.resign || draft.touched) return null
    if (draft.storeKey !== null && now() >= draft.lastSeenAt + touchInterval) return null
    if (draft.storeKey === null && draft.incoming.present && draft.rejected !== null) return null
    draft.committed = true
    return keep(draft.accessed)
  }

  return {
    kind: 'store',
    description: store.name,
    cookieName: name,
    reservedKeys,
    keyed: true,
    loadsAsync: true,
    store,
    open(incoming, who, https) {
      const draft = newDraft(incoming, who, https)
      if (incoming.refused === null && !incoming.values.some((value) => value !== '')) {
        draft.checked = true
        draft.loaded = true
      }
      return draft
    },
    check,
    loadSync(draft) {
      check(draft)
      return draft.loaded
    },
    load,
    async reload(draft) {
      if (draft.loading) await draft.loading.catch(() => {})
      check(draft)
      resetDraft(draft)
      // A session with no record (new, or its cookie refused) reloads as the empty session.
      if (draft.storeKey === null) {
        draft.loaded = true
        return
      }
      await load(draft)
    },
    checkMaxAge(seconds) {
      checkLifetime(seconds, options.absoluteTimeout)
    },
    commit,
    commitSync,
    listByUser: (userId) => call('list sessions', () => store.listByUser(userId)),
    destroyByUser: (userId, opts) =>
      call('revoke sessions', () => store.destroyByUser(userId, opts)),
    destroy: (key) => call('destroy a session', () => store.destroy(key)),
    // Only where the store has them; the sessions' type says so too (`StoreSessions`).
    ...(store.list && {
      list: (opts?: { limit?: number }) => call('list sessions', () => store.list!(opts)),
    }),
    ...(store.prune && {
      prune: (opts?: PruneOptions) => call('prune expired sessions', () => store.prune!(opts)),
    }),
    async close() {
      sweeper.stop()
      await store.close?.()
    },
  }
}

const reservedKeys: ReadonlySet<string> = new Set([maxAgeKey])

/** Drops the draft's id: it names no live session. */
function forget(draft: Draft): void {
  draft.storeKey = null
  draft.id = null
}
