/**
 * The adversarial suite's harness: the loop over modes, the app's lifecycle per mode, the
 * section-5 global invariants checked after every case, and the plan's outcome shorthands
 * (ANON, STORE-DOWN) as assertions.
 *
 * Invariants (security test plan, section 5), checked in `afterEach` for every target alive
 * during the case (the fixture app, or the demo site of `demo-site.ts`), over what happened
 * during the case:
 *   1. no raw token, cookie value, secret or derived key in captured logs, response bodies or
 *      response headers other than Set-Cookie;
 *   2. no unhandled rejection or uncaught exception, and no 500 response;
 *   3. every Set-Cookie parses under RFC 6265's grammar and carries the required attributes
 *      (configured name, or one of the target's `otherCookies`, Path=/, Secure as configured, HttpOnly, SameSite=Lax, no Domain; a
 *      deletion has an empty value, Max-Age=0 and a past Expires; a persistent cookie lives at
 *      most the configured lifetime and never past 400 days), and its response has
 *      `Cache-Control: no-store` and `Vary: Cookie`;
 *   4. no store write the case does not expect: writes come from setup code or from the
 *      state-changing endpoints; a GET may only refresh the idle expiry (a touch), or make the
 *      writes its target declares (`readWrite`); a case can allow more with `allowWrites`;
 *   5. `Object.prototype` has the same properties as at start, and `({}).isAdmin` is undefined.
 * @module
 */
import { createHmac } from 'node:crypto'
import { afterEach, beforeAll, beforeEach, describe, expect } from 'vitest'
import { deriveKey } from '../../src/primitives/keys.js'
import { describeService } from '../support/services.js'
import {
  type AppOptions,
  type Group,
  isWrite,
  type Mode,
  type ModeName,
  modes,
  plan,
  type Result,
  type StoreCall,
  startApp,
  type Target,
  type TestApp,
} from './app.js'

// ---------------------------------------------------------------------------------------------
// Global listeners

/** One list per worker process: test files share the process, so listen only once. */
const unhandled: unknown[] = (() => {
  const key = Symbol.for('tessera.adversarial.unhandled')
  const holder = globalThis as { [key]?: unknown[] }
  if (!holder[key]) {
    const list: unknown[] = []
    holder[key] = list
    process.on('unhandledRejection', (reason) => list.push(reason))
    process.on('uncaughtExceptionMonitor', (error) => list.push(error))
  }
  return holder[key]
})()

const protoSnapshot = snapshotPrototype()

function snapshotPrototype(): Map<string | symbol, unknown> {
  const map = new Map<string | symbol, unknown>()
  for (const key of Reflect.ownKeys(Object.prototype)) {
    const d = Object.getOwnPropertyDescriptor(Object.prototype, key)!
    map.set(key, d.value ?? d.get)
  }
  return map
}

// ---------------------------------------------------------------------------------------------
// Targets tracked for the invariants

interface Mark {
  sent: number
  results: number
  calls: number
  logs: number
  allow: ((call: StoreCall) => boolean)[]
  sensitive: Set<string>
}

const tracked = new Map<Target, Mark>()
let unhandledMark = 0

function markOf(app: Target): Mark {
  return {
    sent: app.sentCookies.length,
    results: app.results.length,
    calls: app.calls.length,
    logs: app.logs.length,
    allow: [],
    sensitive: new Set(),
  }
}

/** Starts a target whose traffic the invariants check until it is closed and the case ends. */
export async function track<T extends Target>(start: () => Promise<T>): Promise<T> {
  const target = await start()
  tracked.set(target, { ...markOf(target), sent: 0, results: 0, calls: 0, logs: 0 })
  return target
}

/** Starts a fixture app whose traffic the invariants check (see `track`). */
export function trackedApp(mode: Mode, options: AppOptions = {}): Promise<TestApp> {
  return track(() => startApp(mode, options))
}

/** Allows store writes the default policy would call unexpected, for the current case. */
export function allowWrites(app: Target, predicate: (call: StoreCall) => boolean): void {
  tracked.get(app)?.allow.push(predicate)
}

/** Adds values that must not appear in logs or bodies during the current case. */
export function noteSensitive(app: Target, ...values: string[]): void {
  const mark = tracked.get(app)
  for (const v of values) mark?.sensitive.add(v)
}

/** Registers the invariant checks; call once at the top of each test file. */
export function installInvariants(): void {
  beforeEach(() => {
    unhandledMark = unhandled.length
    for (const app of tracked.keys()) tracked.set(app, markOf(app))
  })
  afterEach(async () => {
    const closed: Target[] = []
    try {
      for (const [app, mark] of tracked) {
        checkApp(app, mark)
        if ((app as { closed?: boolean }).closed) closed.push(app)
      }
      const fresh = unhandled.slice(unhandledMark)
      expect(fresh.map(String), 'invariant 2: no unhandled rejection or exception').toEqual([])
      const now = snapshotPrototype()
      expect([...now.keys()].map(String), 'invariant 5: Object.prototype keys').toEqual(
        [...protoSnapshot.keys()].map(String),
      )
      for (const [key, value] of protoSnapshot) {
        expect(now.get(key) === value, `invariant 5: Object.prototype.${String(key)}`).toBe(true)
      }
      expect(({} as Record<string, unknown>).isAdmin, 'invariant 5: ({}).isAdmin').toBeUndefined()
    } finally {
      for (const app of closed) tracked.delete(app)
    }
  })
}

/** Closes a target started with `track`; its traffic is still checked when the case ends. */
export async function closeTracked(app: Target): Promise<void> {
  ;(app as { closed?: boolean }).closed = true
  await app.close()
}

// ---------------------------------------------------------------------------------------------
// Modes

/** Declares `fn` once per mode of `groups` (plan groups or mode names), skipping absent services. */
export function forModes(
  groups: readonly (Group | ModeName)[] | 'ALL',
  fn: (mode: Mode) => void,
): void {
  const selected =
    groups === 'ALL'
      ? modes
      : modes.filter((m) => groups.includes(m.group) || groups.includes(m.name))
  for (const mode of selected) {
    if (mode.unavailable) describeService(mode.label, mode.unavailable(), () => fn(mode))
    else describe(mode.label, () => fn(mode))
  }
}

/** The app of one mode for the enclosing `describe`, started once and closed after it. */
export function useApp(mode: Mode, options: AppOptions = {}): { readonly app: TestApp } {
  return useTarget(() => startApp(mode, options))
}

/** A target for the enclosing `describe`, started once, tracked, and closed after it. */
export function useTarget<T extends Target>(start: () => Promise<T>): { readonly app: T } {
  let app: T | null = null
  beforeAll(async () => {
    app = await track(start)
    return async () => {
      if (app) await closeTracked(app)
      tracked.delete(app!)
    }
  })
  return {
    get app() {
      if (!app) throw new Error('the app is not started')
      return app
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Invariant checks

const reads = /^(GET|HEAD) /

function checkApp(app: Target, mark: Mark): void {
  const results = app.results.slice(mark.results)
  const calls = app.calls.slice(mark.calls)
  const logs = app.logs.slice(mark.logs)

  // 1. No token, cookie value or key in logs, bodies or headers.
  const secrets = [
    ...sensitiveValues(app, app.sentCookies.slice(mark.sent), results, mark.sensitive),
  ]
  const leaks: string[] = []
  // Identical lines (a counter's repeated event) are checked once.
  for (const text of new Set(logs.map((l) => l.text))) {
    for (const s of secrets) if (text.includes(s)) leaks.push(`log line: ${text}`)
  }
  for (const r of results) {
    const exposed = [r.body]
    for (const [name, value] of Object.entries(r.headers)) {
      if (name !== 'set-cookie' && value !== undefined) exposed.push(String(value))
    }
    for (const text of exposed) {
      for (const s of secrets) if (text.includes(s)) leaks.push(`response ${r.id}: ${text}`)
    }
  }
  expect(leaks, 'invariant 1: a token, cookie value or key in logs, bodies or headers').toEqual([])

  // 2. No 500.
  const failed = results.filter((r) => r.status === 500).map((r) => `${r.id}: ${r.body}`)
  expect(failed, 'invariant 2: no 500').toEqual([])

  // 3. Set-Cookie grammar and attributes (each distinct header once).
  const seen = new Set<string>()
  for (const r of results) {
    for (const header of r.setCookies) {
      if (seen.has(header)) continue
      seen.add(header)
      checkSetCookie(app, header)
    }
    if (r.setCookies.length > 0) {
      expect(String(r.headers['cache-control']), `invariant 3: ${r.id} Cache-Control`).toMatch(
        /no-store/,
      )
      expect(String(r.headers.vary), `invariant 3: ${r.id} Vary`).toMatch(/cookie/i)
    }
  }

  // 4. Store writes.
  const unexpected = calls
    .filter(
      (call) =>
        isWrite(call) &&
        !(
          call.route === 'setup' ||
          app.writeRoutes.has(call.route) ||
          (reads.test(call.route) && (call.kind === 'touch' || app.readWrite?.(call) === true)) ||
          mark.allow.some((allow) => allow(call))
        ),
    )
    .map((call) => `${call.op} (${call.kind}) by ${call.route}`)
  expect(unexpected, 'invariant 4: unexpected store writes').toEqual([])
}

function encodings(bytes: Buffer): string[] {
  return [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]
}

function sensitiveValues(
  app: Target,
  sent: string[],
  results: Result[],
  extra: Set<string>,
): Set<string> {
  const values = new Set<string>(extra)
  for (const secret of app.secrets) {
    const bytes = Buffer.from(secret)
    for (const e of encodings(bytes)) values.add(e)
    values.add(bytes.toString('latin1'))
    for (const purpose of ['cookie-mac', 'cookie-aes-256-gcm', 'session-id']) {
      for (const e of encodings(deriveKey(bytes, purpose))) values.add(e)
    }
    for (const e of encodings(createHmac('sha1', bytes).update('cookie-session').digest())) {
      values.add(e)
    }
  }
  const cookieValues = new Set<string>(sent)
  for (const r of results) {
    for (const header of r.setCookies) {
      const pair = header.slice(0, header.indexOf(';'))
      cookieValues.add(pair.slice(pair.indexOf('=') + 1))
    }
  }
  for (const v of app.sensitive) cookieValues.add(v)
  for (const value of cookieValues) {
    if (value.length >= 16) values.add(value)
    for (const part of value.split('.')) if (part.length >= 16) values.add(part)
  }
  return values
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const cookieOctets = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/
const httpDate =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** A Set-Cookie header, parsed under RFC 6265 section 4.1.1; throws on a grammar error. */
export function parseSetCookieStrict(header: string): {
  name: string
  value: string
  attributes: Map<string, string | true>
} {
  const [pair, ...rest] = header.split('; ')
  const eq = pair!.indexOf('=')
  if (eq <= 0) throw new Error(`no name=value in ${header}`)
  const name = pair!.slice(0, eq)
  let value = pair!.slice(eq + 1)
  if (!token.test(name)) throw new Error(`cookie name is not a token: ${name}`)
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
  if (!cookieOctets.test(value)) throw new Error(`cookie value has bytes outside cookie-octet`)
  const attributes = new Map<string, string | true>()
  for (const av of rest) {
    const i = av.indexOf('=')
    const key = (i === -1 ? av : av.slice(0, i)).toLowerCase()
    const v = i === -1 ? true : av.slice(i + 1)
    if (attributes.has(key)) throw new Error(`attribute ${key} repeated`)
    switch (key) {
      case 'expires':
        if (typeof v !== 'string' || !httpDate.test(v)) throw new Error(`bad Expires: ${v}`)
        break
      case 'max-age':
        // RFC 6265 asks for a non-zero first digit; 6265bis and every UA accept 0 (deletion).
        if (typeof v !== 'string' || !/^(0|[1-9][0-9]*)$/.test(v)) throw new Error(`bad Max-Age`)
        break
      case 'path':
        // av-octet: any CHAR except CTLs and ";".
        if (typeof v !== 'string' || !v.startsWith('/') || !/^[\x20-\x3A\x3C-\x7E]*$/.test(v))
          throw new Error(`bad Path: ${v}`)
        break
      case 'domain':
        if (typeof v !== 'string' || !/^[A-Za-z0-9.-]+$/.test(v)) throw new Error(`bad Domain`)
        break
      case 'samesite':
        if (v !== 'Strict' && v !== 'Lax' && v !== 'None') throw new Error(`bad SameSite: ${v}`)
        break
      case 'secure':
      case 'httponly':
      case 'partitioned':
        if (v !== true) throw new Error(`${key} takes no value`)
        break
      default:
        throw new Error(`unknown attribute ${key}`)
    }
    attributes.set(key, v)
  }
  return { name, value, attributes }
}

function checkSetCookie(app: Target, header: string): void {
  let parsed: ReturnType<typeof parseSetCookieStrict>
  try {
    parsed = parseSetCookieStrict(header)
  } catch (error) {
    throw new Error(`invariant 3: Set-Cookie does not parse (${(error as Error).message})`)
  }
  const { name, value, attributes: a } = parsed
  const otherLife = app.otherCookies?.get(name)
  if (otherLife === undefined) {
    expect(name, 'invariant 3: cookie name').toBe(app.sessions.cookieName)
  }
  expect(a.get('path'), 'invariant 3: Path=/').toBe('/')
  expect(a.has('secure'), `invariant 3: Secure ${app.secure ? 'set' : 'as configured (off)'}`).toBe(
    app.secure,
  )
  expect(a.get('httponly'), 'invariant 3: HttpOnly').toBe(true)
  expect(a.get('samesite'), 'invariant 3: SameSite=Lax').toBe('Lax')
  expect(a.has('domain'), 'invariant 3: no Domain').toBe(false)
  if (value === '') {
    expect(a.get('max-age'), 'invariant 3: a deletion has Max-Age=0').toBe('0')
    expect(
      Date.parse(String(a.get('expires'))),
      'invariant 3: a deletion expires in the past',
    ).toBeLessThan(Date.now())
    return
  }
  // The plan's value pattern is ^[A-Za-z0-9_-]+$; tessera's formats also use `.` as a separator
  // (a cookie-octet, so the RFC grammar allows it): pinned.
  expect(value, 'invariant 3: value charset').toMatch(/^[A-Za-z0-9_.-]+$/)
  expect(
    Buffer.byteLength(`${name}=${value}`),
    'invariant 3: name+value ≤ 4096',
  ).toBeLessThanOrEqual(4096)
  expect(a.has('max-age'), 'invariant 3: no Max-Age on a session cookie').toBe(false)
  const expires = a.get('expires')
  if (typeof expires === 'string') {
    const life = otherLife ?? app.persistMs
    const limit = app.clock.now() + Math.min(life, plan.maxPersistence * 1000) + 1000
    expect(Date.parse(expires), 'invariant 3: Expires within the lifetime').toBeLessThanOrEqual(
      limit,
    )
  }
}

// ---------------------------------------------------------------------------------------------
// Outcome shorthands

/**
 * ANON: 200 `{"user":null}` from `GET /whoami`, an empty session, no user binding, no store
 * write, no Set-Cookie that establishes a session (a deletion is allowed), at most one warn
 * line, and none of them holds the cookie (invariant 1 covers the latter for the whole case).
 */
export function expectAnon(res: Result, what = ''): void {
  expect(anonViolations(res), `ANON${what ? ` (${what})` : ''}`).toEqual([])
}

/**
 * How `res` (a `GET /whoami`) falls short of ANON; empty when it is ANON. Another target's page
 * says in its own words what the handler saw: `page` reads it (from a 200 response).
 */
export function anonViolations(
  res: Result,
  page: (res: Result) => string[] = whoamiPage,
): string[] {
  const problems: string[] = []
  if (res.status !== 200) problems.push(`status ${res.status}`)
  else problems.push(...page(res))
  const writes = res.calls.filter(isWrite)
  if (writes.length > 0) problems.push(`store writes: ${writes.map((c) => c.op).join(', ')}`)
  for (const header of res.setCookies) {
    if (!/^[^=]+=;/.test(header)) problems.push('a Set-Cookie that establishes a session')
  }
  if (res.setCookies.length > 1) problems.push(`${res.setCookies.length} Set-Cookie headers`)
  const warnings = res.logs.filter((l) => l.level !== 'info')
  if (warnings.length > 1) problems.push(`${warnings.length} warn/error log lines`)
  return problems
}

function whoamiPage(res: Result): string[] {
  const body = res.json()
  const expected = { user: null, userId: null, size: 0 }
  return JSON.stringify(body) === JSON.stringify(expected)
    ? []
    : [`handler saw ${JSON.stringify(body)}`]
}

/** Authenticated as `user` on `GET /whoami`. */
export function expectUser(res: Result, user: string, what = ''): void {
  expect(res.status, `authenticated ${what}: status`).toBe(200)
  expect(res.json<{ user: unknown }>().user, `authenticated ${what}: user`).toBe(user)
}

/**
 * STORE-DOWN: 503, Retry-After, the fixed body, no Set-Cookie, answered within timeout + 250 ms
 * (measured in the server, from the request event to the end of the response: the test client
 * shares the process's event loop, so its own round trip includes its own queueing).
 */
export function expectStoreDown(res: Result, budgetMs = plan.storeTimeoutMs + 250): void {
  expect(res.status, 'STORE-DOWN: status').toBe(503)
  expect(res.headers['retry-after'], 'STORE-DOWN: Retry-After').toBeTruthy()
  expect(res.json(), 'STORE-DOWN: body').toEqual({ error: 'session_store_unavailable' })
  expect(res.setCookies, 'STORE-DOWN: no Set-Cookie').toEqual([])
  const ms = Number.isNaN(res.serverMs) ? res.ms : res.serverMs
  expect(ms, 'STORE-DOWN: answered within the budget').toBeLessThanOrEqual(budgetMs)
}

/** Logs in as `user`; returns the `name=value` cookie. */
export async function login(
  app: TestApp,
  user = 'alice',
  init: { cookie?: string; permanent?: boolean } = {},
): Promise<string> {
  const res = await app.request(`/login?user=${user}${init.permanent ? '&permanent=1' : ''}`, {
    method: 'POST',
    ...(init.cookie ? { cookie: init.cookie } : {}),
  })
  expect(res.status, `login: ${res.body}`).toBe(303)
  return res.cookie()
}

/** The value part of a `name=value` cookie. */
export const cookieValue = (cookie: string): string => cookie.slice(cookie.indexOf('=') + 1)

/** `name=value` for the app's cookie name. */
export const cookieWith = (app: Target, value: string): string =>
  `${app.sessions.cookieName}=${value}`

export async function whoami(app: TestApp, cookie?: string): Promise<Result> {
  return app.request('/whoami', cookie === undefined ? {} : { cookie })
}

/** Runs `tasks` with at most `limit` in flight; the results in the order of the tasks. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++
        results[i] = await tasks[i]!()
      }
    }),
  )
  return results
}
