/**
 * The session object: Flask's `session`, with explicit methods so that change tracking is
 * honest. Every write marks it modified; a nested value changed in place needs
 * `markModified(key)`, exactly as Flask documents for `session.modified = True`.
 * @module
 */
import type { RejectReason, SessionData } from '../codecs/types.js'
import type { Draft, Engine } from '../engines/types.js'
import { SerializeError, SessionNotLoadedError } from '../errors.js'
import { isForbiddenKey } from '../primitives/guards.js'

/** The shape of an app's session data, given once to type every `get` and `set`. */
export type SessionShape = Record<string, unknown>

/**
 * Keys a feature keeps a per-session secret under (the CSRF token), removed by `regenerate()`
 * so that nothing seen before a privilege change works after it. Features add theirs when
 * their module loads; the session knows none of them by name.
 */
export const rotatedKeys = new Set<string>()

function noteChanged(draft: Draft, key: string): void {
  if (draft.changed === null) draft.changed = new Set([key])
  else draft.changed.add(key)
}

function noteRead(draft: Draft, key: string): void {
  if (draft.read === null) draft.read = new Set([key])
  else draft.read.add(key)
}

const draftSlot = Symbol('draft')
const engineSlot = Symbol('engine')
const dataOf = Symbol('data')

/** The draft behind a session: for the session layer's own modules only. */
export let draftOf: <T extends object>(session: Session<T>) => Draft

/** The engine behind a session: for the session layer's own modules only. */
export let engineOf: <T extends object>(session: Session<T>) => Engine

/**
 * One client's session for the current request.
 * @example
 * session.set('username', 'admin')
 * session.get('username') // 'admin'
 * session.pop('username')
 */
export class Session<in out T extends object = SessionShape> {
  // Symbol-keyed and @internal rather than `#private`: a `#private` field makes the class
  // nominal, so the package's two declaration copies (.d.ts for import, .d.cts for require)
  // would declare two Session types that never match, and a project loading tessera both ways
  // would see each framework augmentation (`req.session`) declared twice with different types
  // (TS2717). Stripped from the declarations, the class is structural and both copies agree.
  /** @internal */
  readonly [draftSlot]: Draft
  /** @internal */
  readonly [engineSlot]: Engine

  static {
    // Accessors rather than one function returning both: they run on every request, and an
    // object per call would be garbage per request.
    draftOf = (session) => session[draftSlot]
    engineOf = (session) => session[engineSlot]
  }

  /**
   * Sessions are made by `sessions.open()` (adapters call it), not by apps.
   * @internal
   */
  constructor(draft: Draft, engine: Engine) {
    this[draftSlot] = draft
    this[engineSlot] = engine
  }

  /** The value under `key`, or `fallback` when there is none. */
  get<K extends keyof T & string>(key: K): T[K] | undefined
  get<K extends keyof T & string>(key: K, fallback: T[K]): T[K]
  get<K extends keyof T & string>(key: K, fallback?: T[K]): T[K] | undefined {
    const data = this[dataOf]()
    if (!Object.hasOwn(data, key)) return fallback
    const value = data[key] as T[K]
    if (typeof value === 'object' && value !== null) noteRead(this[draftSlot], key)
    return value
  }

  /** Sets `key` to `value`; marks the session modified. */
  set<K extends keyof T & string>(key: K, value: T[K]): this {
    checkKey(key, this[engineSlot].reservedKeys)
    if (value === undefined) {
      this.delete(key)
      return this
    }
    const draft = this[draftSlot]
    this[dataOf]()[key] = value
    noteChanged(draft, key)
    draft.modified = true
    return this
  }

  /** Sets every key of `values`, as Python's `dict.update`. */
  update(values: Partial<T>): this {
    for (const key of Object.keys(values) as (keyof T & string)[]) {
      this.set(key, values[key] as T[keyof T & string])
    }
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
    const data = this[dataOf]()
    if (!Object.hasOwn(data, key)) return false
    delete data[key]
    const draft = this[draftSlot]
    noteChanged(draft, key)
    draft.modified = true
    return true
  }

  /** Removes `key` and returns its value, or `fallback` when there was none (as Flask's pop). */
  pop<K extends keyof T & string>(key: K): T[K] | undefined
  pop<K extends keyof T & string>(key: K, fallback: T[K]): T[K]
  pop<K extends keyof T & string>(key: K, fallback?: T[K]): T[K] | undefined {
    const data = this[dataOf]()
    if (!Object.hasOwn(data, key)) return fallback
    const value = data[key] as T[K]
    this.delete(key)
    return value
  }

  /** Whether `key` holds a value. */
  has(key: keyof T & string): boolean {
    return Object.hasOwn(this[dataOf](), key)
  }

  /** Removes every key. Counts as a change even on an empty session, as in Flask. */
  clear(): void {
    const draft = this[draftSlot]
    this[dataOf]()
    draft.data = {}
    draft.changed = null
    draft.cleared = true
    draft.modified = true
  }

  /** The keys, in insertion order. */
  keys(): (keyof T & string)[] {
    return Object.keys(this[dataOf]()) as (keyof T & string)[]
  }

  /** The values, in key order. */
  values(): T[keyof T & string][] {
    return Object.values(this[dataOf]()) as T[keyof T & string][]
  }

  /** `[key, value]` pairs, in key order. */
  entries(): [keyof T & string, T[keyof T & string]][] {
    return Object.entries(this[dataOf]()) as [keyof T & string, T[keyof T & string]][]
  }

  /** How many keys the session holds. */
  get size(): number {
    return Object.keys(this[dataOf]()).length
  }

  /** Whether the session holds no data. */
  get isEmpty(): boolean {
    for (const _ in this[dataOf]()) return false
    return true
  }

  /** A shallow copy of the data. */
  toJSON(): Partial<T> {
    return { ...this[dataOf]() } as Partial<T>
  }

  /**
   * Marks values changed in place as modified, so they are saved. With no keys, every object
   * value read during this request is marked.
   * @example
   * session.get('cart')!.push(item)
   * session.markModified('cart')
   */
  markModified(...keys: (keyof T & string)[]): void {
    const draft = this[draftSlot]
    this[dataOf]()
    for (const key of keys.length > 0 ? keys : (draft.read ?? [])) noteChanged(draft, key)
    draft.modified = true
  }

  /** Whether this session was created by this request (no valid cookie came in). */
  get isNew(): boolean {
    return this[draftSlot].isNew
  }

  /** Whether anything was written to the session during this request. */
  get isModified(): boolean {
    return this[draftSlot].modified
  }

  /** Whether the request looked at the session at all; it drives `Vary: Cookie`. */
  get isAccessed(): boolean {
    return this[draftSlot].accessed
  }

  /** Whether the session data has been read from its cookie or store. */
  get isLoaded(): boolean {
    this[engineSlot].check(this[draftSlot])
    return this[draftSlot].loaded
  }

  /**
   * A permanent session's cookie carries Expires (the configured lifetime); otherwise the
   * browser drops it when it closes. Flask's `session.permanent`.
   */
  get permanent(): boolean {
    this[dataOf]()
    return this[draftSlot].permanent
  }

  set permanent(value: boolean) {
    const draft = this[draftSlot]
    this[dataOf]()
    if (draft.permanent !== value) {
      draft.permanent = value
      draft.modified = true
    }
  }

  /**
   * This session's own lifetime in seconds, or null for the app's `maxAge` (`idleTimeout` with a
   * store): how long it lives after its last use, and a permanent cookie's Expires. Always
   * bounded by `absoluteTimeout`. express-session's `req.session.cookie.maxAge`, in seconds.
   * Not in Flask's cookie format, whose lifetime is the app's alone.
   * @example
   * // "Remember me": this session for 30 days, another until the browser closes.
   * session.permanent = form.remember
   * if (form.remember) session.maxAge = 30 * 86_400
   */
  get maxAge(): number | null {
    this[dataOf]()
    return this[draftSlot].maxAge
  }

  set maxAge(value: number | null) {
    const draft = this[draftSlot]
    this[dataOf]()
    if (value !== null) this[engineSlot].checkMaxAge(value)
    if (draft.maxAge !== value) {
      draft.maxAge = value
      draft.maxAgeChanged = true
      draft.modified = true
    }
  }

  /**
   * Extends the session's idle expiry now, from this request, even when it is not due yet
   * (store sessions refresh it at most once per `touchInterval`; a cookie session's lifetime
   * runs from its last write, so its cookie is issued again). A session with nothing in it has
   * nothing to extend.
   */
  touch(): void {
    this[dataOf]()
    this[draftSlot].touched = true
  }

  /**
   * Reads the session again from its store, or from the request's cookie, dropping every
   * change this request made and has not saved (`regenerate()` and `destroy()` included). A
   * session revoked meanwhile comes back empty. A cookie session cannot be reloaded after
   * `save()`. Rejects with a `StoreError` when the store is down.
   */
  reload(): Promise<void> {
    return this[engineSlot].reload(this[draftSlot])
  }

  /** The user this session belongs to, if the app bound one with `setUser`. */
  get userId(): string | null {
    this[dataOf]()
    return this[draftSlot].user
  }

  /**
   * Binds the session to a user (at login), so the store can list and revoke a user's
   * sessions. Pass `null` to unbind.
   */
  setUser(userId: string | null): void {
    const draft = this[draftSlot]
    this[dataOf]()
    if (draft.user !== userId) {
      draft.user = userId
      draft.userChanged = true
      draft.modified = true
    }
  }

  /** When the session was created (epoch ms), or 0 for a new one. */
  get createdAt(): number {
    this[dataOf]()
    return this[draftSlot].createdAt
  }

  /** Why the request's session cookie was refused, for logging; null when none was. */
  get rejectedReason(): RejectReason | null {
    this[engineSlot].check(this[draftSlot])
    return this[draftSlot].rejected
  }

  /**
   * Gives the session a new id and keeps its data. Call it at login and on any privilege
   * change, so an id planted before login is worthless afterwards (session fixation).
   */
  regenerate(): void {
    const draft = this[draftSlot]
    const data = this[dataOf]()
    draft.regenerate = true
    draft.modified = true
    // A per-session secret (a CSRF token) seen before the privilege change must not work after.
    for (const key of rotatedKeys) {
      if (Object.hasOwn(data, key)) this.delete(key as keyof T & string)
    }
  }

  /** Ends the session: its data is removed from the store and the cookie is deleted. */
  destroy(): void {
    const draft = this[draftSlot]
    this[dataOf]()
    draft.destroyed = true
    draft.data = {}
    draft.modified = true
  }

  /** Whether `destroy()` was called. */
  get isDestroyed(): boolean {
    return this[draftSlot].destroyed
  }

  /** Reads the session from its cookie or store, once. Adapters call it unless `lazy` is set. */
  load(): Promise<void> {
    return this[engineSlot].load(this[draftSlot])
  }

  /**
   * Saves the session now rather than when the response ends: needed before streaming a
   * response, since the cookie must go out with the headers.
   */
  async save(): Promise<void> {
    const draft = this[draftSlot]
    if (!draft.save) throw new SerializeError('this session is not attached to a response')
    await draft.save()
  }

  /** @internal */
  [dataOf](): SessionData {
    const draft = this[draftSlot]
    draft.accessed = true
    if (!draft.loaded) {
      if (draft.loadError) throw draft.loadError
      if (!this[engineSlot].loadSync(draft)) throw new SessionNotLoadedError()
    }
    return draft.data
  }
}

function checkKey(key: string, reserved: ReadonlySet<string>): void {
  if (typeof key !== 'string' || isForbiddenKey(key)) {
    throw new SerializeError(`the key ${JSON.stringify(key)} cannot be used in a session`)
  }
  if (reserved.has(key)) {
    throw new SerializeError(
      `the key ${JSON.stringify(key)} holds the session's metadata here ` +
        `(reserved: ${[...reserved].join(', ')}); use \`session.permanent\`, ` +
        '`session.maxAge` and `session.setUser()`, or another key',
    )
  }
}
