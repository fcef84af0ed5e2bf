/**
 * The session object: Flask's `session`, with explicit methods so that change tracking is
 * honest. Every write marks it modified; a nested value changed in place needs
 * `markModified(key)`, exactly as Flask documents for `session.modified = True`.
 * @module
 */
import type { RejectReason, SessionData } from '../codecs/types.js'
import { SerializeError, SessionNotLoadedError } from '../errors.js'
import { isForbiddenKey } from '../primitives/guards.js'
import type { RequestMeta } from './sessions.js'

/** The shape of an app's session data, given once to type every `get` and `set`. */
export type SessionShape = Record<string, unknown>

/** The session key of the CSRF token (see `features/csrf.ts`), rotated by `regenerate()`. */
export const csrfKey = '_csrf'

/** State the session manager reads and writes; not part of the public API. */
export interface SessionState {
  data: SessionData
  loaded: boolean
  /** Loads the data of a cookie session, synchronously, on first use. */
  loadSync: ((session: SessionState) => void) | null
  /** Loads the data of a server-side session: a store read, awaited by `load()`. */
  loadAsync: ((session: SessionState) => Promise<void>) | null
  /**
   * Server-side mode: checks the cookie's signed ids and sets `id`, `storeKey` and `loadAsync`
   * (or `rejected`). Left until something needs them (see `settle`): an HMAC and a SHA-256 per
   * request are a seventh of a bare server's time here, wasted on requests that never use
   * their session.
   */
  checkIds: ((session: SessionState) => void) | null
  loading: Promise<void> | null
  /** Why the eager load failed (the store was down); thrown when the handler touches the data. */
  loadError: unknown
  /** Keys set or deleted by this request: the patch a store applies. Made on the first write. */
  changed: Set<string> | null
  /**
   * Keys whose object values were read, so `markModified()` knows what a handler may have
   * mutated. Made on the first such read: most requests read none and pay for no Set.
   */
  read: Set<string> | null
  cleared: boolean
  modified: boolean
  accessed: boolean
  isNew: boolean
  permanent: boolean
  regenerate: boolean
  destroyed: boolean
  /** The raw session id (server-side mode), once known. */
  id: string | null
  userId: string | null
  userChanged: boolean
  createdAt: number
  lastSeenAt: number
  /** Whether the session is saved key by key (server-side), so per-key writes never collide. */
  perKey: boolean
  /** Values of the session cookie in the request. */
  cookies: readonly string[]
  rejected: RejectReason | null
  /** Set once the response's cookie has been decided, so a second save is a no-op. */
  committed: boolean
  /** Saves now, before the response is sent (the adapter's commit). */
  save: (() => Promise<void>) | null
  /**
   * Who made the request, for a session created by it: given, or a function the adapter
   * passes so that it reads the request only when a session is created.
   */
  meta: MetaSource
  /** Server-side mode: the store key of the session (the SHA-256 of its id), once known. */
  storeKey: string | null
  /** Server-side mode: the record's expiry when loaded, to know whether a touch is due. */
  expiresAt: number
  /** The cookie (or the id in it) was signed with an older secret, so it is signed again. */
  resign: boolean
}

/** Who made a request, as an adapter gives it. */
export type MetaSource = RequestMeta | (() => RequestMeta) | undefined

/** Runs the state's deferred cookie check, once: before anything reads what it decides. */
export function settle(state: SessionState): void {
  const check = state.checkIds
  if (check === null) return
  state.checkIds = null
  check(state)
}

/** The key under which `Session` keeps its state for the manager. */
export const stateOf = Symbol('tessera.session.state')

/** A fresh state; the manager fills in how to load. */
export function newState(cookies: readonly string[], meta: SessionState['meta']): SessionState {
  return {
    data: {},
    loaded: false,
    loadSync: null,
    checkIds: null,
    loadAsync: null,
    loading: null,
    loadError: null,
    changed: null,
    read: null,
    cleared: false,
    modified: false,
    accessed: false,
    isNew: true,
    permanent: false,
    regenerate: false,
    destroyed: false,
    id: null,
    userId: null,
    userChanged: false,
    createdAt: 0,
    lastSeenAt: 0,
    perKey: false,
    cookies,
    rejected: null,
    committed: false,
    save: null,
    meta,
    storeKey: null,
    expiresAt: 0,
    resign: false,
  }
}

function noteChanged(state: SessionState, key: string): void {
  if (state.changed === null) state.changed = new Set([key])
  else state.changed.add(key)
}

function noteRead(state: SessionState, key: string): void {
  if (state.read === null) state.read = new Set([key])
  else state.read.add(key)
}

/**
 * One client's session for the current request.
 * @example
 * session.set('username', 'admin')
 * session.get('username') // 'admin'
 * session.pop('username')
 */
export class Session<T extends SessionShape = SessionShape> {
  readonly [stateOf]: SessionState

  constructor(state: SessionState) {
    this[stateOf] = state
  }

  /** The value under `key`, or `fallback` when there is none. */
  get<K extends keyof T & string>(key: K): T[K] | undefined
  get<K extends keyof T & string>(key: K, fallback: T[K]): T[K]
  get<K extends keyof T & string>(key: K, fallback?: T[K]): T[K] | undefined {
    const data = this.#data()
    if (!Object.hasOwn(data, key)) return fallback
    const value = data[key] as T[K]
    if (typeof value === 'object' && value !== null) noteRead(this[stateOf], key)
    return value
  }

  /** Sets `key` to `value`; marks the session modified. */
  set<K extends keyof T & string>(key: K, value: T[K]): this {
    checkKey(key)
    if (value === undefined) {
      this.delete(key)
      return this
    }
    const state = this[stateOf]
    this.#data()[key] = value
    noteChanged(state, key)
    state.modified = true
    return this
  }

  /** Sets every key of `values`, as Python's `dict.update`. */
  update(values: Partial<T>): this {
    for (const key of Object.keys(values)) this.set(key, values[key] as T[keyof T & string])
    return this
  }

  /** Sets `key` to `value` unless it has one; returns the value it holds afterwards. */
  setDefault<K extends keyof T & string>(key: K, value: T[K]): T[K] {
    if (this.has(key)) return this.get(key) as T[K]
    this.set(key, value)
    return value
  }

  /** Removes `key`; whether it was there. Removing a missing key changes nothing. */
  delete(key: keyof T & string): boolean {
    const data = this.#data()
    if (!Object.hasOwn(data, key)) return false
    delete data[key]
    const state = this[stateOf]
    noteChanged(state, key)
    state.modified = true
    return true
  }

  /** Removes `key` and returns its value, or `fallback` when there was none (as Flask's pop). */
  pop<K extends keyof T & string>(key: K): T[K] | undefined
  pop<K extends keyof T & string>(key: K, fallback: T[K]): T[K]
  pop<K extends keyof T & string>(key: K, fallback?: T[K]): T[K] | undefined {
    const data = this.#data()
    if (!Object.hasOwn(data, key)) return fallback
    const value = data[key] as T[K]
    this.delete(key)
    return value
  }

  /** Whether `key` holds a value. */
  has(key: keyof T & string): boolean {
    return Object.hasOwn(this.#data(), key)
  }

  /** Removes every key. Counts as a change even on an empty session, as in Flask. */
  clear(): void {
    const state = this[stateOf]
    this.#data()
    state.data = {}
    state.changed = null
    state.cleared = true
    state.modified = true
  }

  /** The keys, in insertion order. */
  keys(): (keyof T & string)[] {
    return Object.keys(this.#data()) as (keyof T & string)[]
  }

  /** The values, in key order. */
  values(): T[keyof T & string][] {
    return Object.values(this.#data()) as T[keyof T & string][]
  }

  /** `[key, value]` pairs, in key order. */
  entries(): [keyof T & string, T[keyof T & string]][] {
    return Object.entries(this.#data()) as [keyof T & string, T[keyof T & string]][]
  }

  /** How many keys the session holds. */
  get size(): number {
    return Object.keys(this.#data()).length
  }

  /** Whether the session holds no data. */
  get isEmpty(): boolean {
    for (const _ in this.#data()) return false
    return true
  }

  /** A shallow copy of the data. */
  toJSON(): Partial<T> {
    return { ...this.#data() } as Partial<T>
  }

  /**
   * Marks values changed in place as modified, so they are saved. With no keys, every object
   * value read during this request is marked.
   * @example
   * session.get('cart')!.push(item)
   * session.markModified('cart')
   */
  markModified(...keys: (keyof T & string)[]): void {
    const state = this[stateOf]
    this.#data()
    for (const key of keys.length > 0 ? keys : (state.read ?? [])) noteChanged(state, key)
    state.modified = true
  }

  /** Whether this session was created by this request (no valid cookie came in). */
  get isNew(): boolean {
    return this[stateOf].isNew
  }

  /** Whether anything was written to the session during this request. */
  get isModified(): boolean {
    return this[stateOf].modified
  }

  /** Whether the request looked at the session at all; it drives `Vary: Cookie`. */
  get isAccessed(): boolean {
    return this[stateOf].accessed
  }

  /** Whether the session data has been read from its cookie or store. */
  get isLoaded(): boolean {
    settle(this[stateOf])
    return this[stateOf].loaded
  }

  /**
   * A permanent session's cookie carries Expires (the configured lifetime); otherwise the
   * browser drops it when it closes. Flask's `session.permanent`.
   */
  get permanent(): boolean {
    this.#data()
    return this[stateOf].permanent
  }

  set permanent(value: boolean) {
    const state = this[stateOf]
    this.#data()
    if (state.permanent !== value) {
      state.permanent = value
      state.modified = true
    }
  }

  /** The user this session belongs to, if the app bound one with `setUser`. */
  get userId(): string | null {
    this.#data()
    return this[stateOf].userId
  }

  /**
   * Binds the session to a user (at login), so the store can list and revoke a user's
   * sessions. Pass `null` to unbind.
   */
  setUser(userId: string | null): void {
    const state = this[stateOf]
    this.#data()
    if (state.userId !== userId) {
      state.userId = userId
      state.userChanged = true
      state.modified = true
    }
  }

  /** When the session was created (epoch ms), or 0 for a new one. */
  get createdAt(): number {
    this.#data()
    return this[stateOf].createdAt
  }

  /** Why the request's session cookie was refused, for logging; null when none was. */
  get rejectedReason(): RejectReason | null {
    settle(this[stateOf])
    return this[stateOf].rejected
  }

  /**
   * Gives the session a new id and keeps its data. Call it at login and on any privilege
   * change, so an id planted before login is worthless afterwards (session fixation).
   */
  regenerate(): void {
    const state = this[stateOf]
    const data = this.#data()
    state.regenerate = true
    state.modified = true
    // A CSRF token seen before the privilege change must not work after it.
    if (Object.hasOwn(data, csrfKey)) this.delete(csrfKey)
  }

  /** Ends the session: its data is removed from the store and the cookie is deleted. */
  destroy(): void {
    const state = this[stateOf]
    this.#data()
    state.destroyed = true
    state.data = {}
    state.modified = true
  }

  /** Whether `destroy()` was called. */
  get isDestroyed(): boolean {
    return this[stateOf].destroyed
  }

  /** Reads the session from its cookie or store, once. Adapters call it unless `lazy` is set. */
  load(): Promise<void> {
    const state = this[stateOf]
    settle(state)
    if (state.loaded) return Promise.resolve()
    if (state.loading) return state.loading
    if (!state.loadAsync) {
      state.loadSync?.(state)
      state.loaded = true
      return Promise.resolve()
    }
    state.loading = state.loadAsync(state).then(
      () => {
        state.loaded = true
        state.loading = null
        state.loadError = null
      },
      (error: unknown) => {
        state.loading = null
        throw error
      },
    )
    return state.loading
  }

  /**
   * Saves the session now rather than when the response ends: needed before streaming a
   * response, since the cookie must go out with the headers.
   */
  async save(): Promise<void> {
    const state = this[stateOf]
    if (!state.save) throw new SerializeError('this session is not attached to a response')
    await state.save()
  }

  #data(): SessionData {
    const state = this[stateOf]
    settle(state)
    state.accessed = true
    if (state.loadError) throw state.loadError
    if (!state.loaded) {
      if (state.loadAsync) throw new SessionNotLoadedError()
      state.loadSync?.(state)
      state.loaded = true
    }
    return state.data
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || isForbiddenKey(key)) {
    throw new SerializeError(`the key ${JSON.stringify(key)} cannot be used in a session`)
  }
}
