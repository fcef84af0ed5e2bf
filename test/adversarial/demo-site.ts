/**
 * The demo site (`demo/app.ts`) as a second target of the adversarial suite, in every mode the
 * demo supports, tracked by the same section-5 invariants as the fixture app (`harness.ts`).
 *
 * Cookie modes are configured by the demo's own `loadConfig` (`SESSION_STORE=cookie`, and
 * `SESSION_FORMAT`). Store modes take a fresh store from `makeStore` (its own folder, Redis
 * key prefix or PostgreSQL schema), behind the store recorder and spy, and build the demo's
 * sessions as the store branch of `loadConfig` does: `loadConfig` opens its store from a URL
 * itself, which leaves no seam for the recorder, and a `postgres://` URL has no schema of its
 * own per run. `demo-flows.test.ts` checks that the two agree.
 *
 * The demo runs on real time (it takes no clock), so no case here moves time.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { type AppStats, createApp } from '../../demo/app.js'
import {
  type CookieCheck,
  demoStoreSessions as configStoreSessions,
  type DemoSession,
  loadConfig,
} from '../../demo/config.js'
import { csrfTokenIn } from '../../demo/test-client.js'
import { formCsrfPurpose } from '../../src/features/form-csrf.js'
import { deriveKey } from '../../src/primitives/keys.js'
import type { Sessions, StoreSessions } from '../../src/session/sessions.js'
import type { Store } from '../../src/stores/types.js'
import { spyStore } from '../support/spy-store.js'
import {
  createRecording,
  type Faults,
  logSessionEvents,
  type MadeStore,
  type Mode,
  makeStore,
  type RawStore,
  type Result,
  recordingStore,
  type Spy,
  type StoreCall,
  serve,
  type Target,
} from './app.js'
import { anonViolations, parseSetCookieStrict, useTarget } from './harness.js'

/** The demo's cookie name (`SESSION_COOKIE_NAME` unset). */
export const demoCookieName = 'session'

/** The login form's cookie (`SESSION_COOKIE_SECURE` off), and how long it lives: an hour. */
export const loginCookieName = 'login-csrf'
const loginCookieMs = 3600 * 1000

export interface DemoSite extends Target {
  mode: Mode
  sessions: Sessions<DemoSession>
  /** The spy over the store (counts), null for cookie modes. */
  spy: Spy | null
  raw: RawStore | null
  /** What the footer shows: the mode and store. */
  label: string
  /** What the demo counts rather than logs. */
  stats: AppStats
}

const formats: Partial<Record<Mode['name'], string>> = {
  signed: 'native',
  encrypted: 'encrypted',
  flask: 'flask',
}

/** The demo's endpoints that change state: its forms. */
const demoWriteRoutes: ReadonlySet<string> = new Set([
  'POST /login',
  'POST /logout',
  'POST /sessions/revoke',
  'POST /sessions/revoke-others',
  'POST /notes',
  'POST /notes/clear',
])

/** Keys a page may add or take out of a session as it renders: the CSRF token, flashes. */
const pageKey = (key: string): boolean =>
  key === '_csrf' || key === '_flashes' || key.startsWith('_flash:')

/**
 * The writes the demo's GET pages make by design. A logged-in page with a form puts a CSRF
 * token in the session, a page shows and so takes out the flashed messages, and the page
 * showing "You have been logged out" thereby empties, and so ends, the session that only
 * carried that message. None of them binds a user or sets data, and none creates a session
 * (L-02: the login form's token lives in a cookie of its own, not in a session).
 */
function demoReadWrite(call: StoreCall): boolean {
  switch (call.op) {
    case 'update': {
      const patch = call.patch
      // Every update restates `permanent`; the demo never makes a session permanent.
      if (!patch || patch.clear || patch.userId !== undefined || patch.permanent === true) {
        return false
      }
      return [...Object.keys(patch.set ?? {}), ...(patch.unset ?? [])].every(pageKey)
    }
    case 'destroy':
      return true
    default:
      return false
  }
}

/** Starts the demo site for `mode` on a free loopback port. */
export async function startDemo(mode: Mode): Promise<DemoSite> {
  const secret = randomBytes(32).toString('base64url')
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-adv-demo-'))
  const recording = createRecording()
  let sessions: Sessions<DemoSession>
  let label: string
  let made: MadeStore | null = null
  let spy: Spy | null = null
  let cookieCheck: CookieCheck | null = null
  if (mode.group === 'CK') {
    const config = await loadConfig({
      SESSION_STORE: 'cookie',
      SESSION_FORMAT: formats[mode.name]!,
      SECRET_KEY: secret,
      DATA_DIR: dataDir,
    })
    sessions = config.sessions
    label = config.storeLabel
    cookieCheck = config.cookieCheck
  } else {
    // The demo's sessions run on real time: so does its store.
    made = await makeStore(mode.name, Date.now, { clockInStore: false })
    const faults: Faults = { delayMs: 0, error: null, ops: null, inFlight: 0 }
    const recorded = recordingStore(made.store, (call) => recording.calls.push(call), faults, true)
    spy = spyStore(recorded) as Spy
    sessions = demoStoreSessions(secret, spy)
    label = made.store.name
  }
  // The demo subscribes to no event; the harness does, to check what the library reports.
  logSessionEvents(sessions, recording.log)
  // As demo/server.ts starts it: the login form's token is signed with the sessions' secret.
  const app = createApp(sessions, label, { secret: [secret], cookieCheck })
  const served = await serve(app, recording)
  return {
    ...served,
    calls: recording.calls,
    logs: recording.logs,
    results: recording.results,
    sentCookies: recording.sentCookies,
    mode,
    sessions,
    label,
    spy,
    raw: made?.raw ?? null,
    stats: app.stats,
    clock: { now: Date.now },
    secrets: [Buffer.from(secret)],
    // tessera's default lifetime: the demo sets none, and never makes a session permanent.
    persistMs: 31 * 86_400 * 1000,
    // The login form's MAC key, in the encodings invariant 1 looks for.
    sensitive: new Set(
      ['hex', 'base64', 'base64url'].map((e) =>
        deriveKey(Buffer.from(secret), formCsrfPurpose).toString(e as BufferEncoding),
      ),
    ),
    secure: false,
    otherCookies: new Map([[loginCookieName, loginCookieMs]]),
    writeRoutes: demoWriteRoutes,
    readWrite: demoReadWrite,
    async close() {
      await served.close()
      await sessions.close()
      await made?.raw.close()
      await made?.cleanup()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** The store branch of `demo/config.ts`'s `loadConfig`, over a given store. */
export function demoStoreSessions(secret: string, store: Store): Sessions<DemoSession> {
  return configStoreSessions([secret], store, { name: demoCookieName })
}

/** The demo site of one mode for the enclosing `describe`, started once and closed after it. */
export function useDemo(mode: Mode): { readonly app: DemoSite } {
  return useTarget(() => startDemo(mode))
}

// ---------------------------------------------------------------------------------------------
// A browser

/**
 * A browser stand-in over the recorded client (as `demo/test-client.ts` is over `fetch`): it
 * keeps the session cookie and the login form's, and posts forms with the CSRF token of the
 * page they are on.
 */
export class Browser {
  /** `session=<value>`, or '' when the browser holds no session cookie. */
  cookie = ''
  /** The login form's cookie, `login-csrf=<value>`, or ''. */
  loginCookie = ''

  constructor(
    readonly site: DemoSite,
    readonly userAgent?: string,
  ) {}

  /** The value part of the cookie. */
  get value(): string {
    return this.cookie.slice(this.cookie.indexOf('=') + 1)
  }

  async get(path: string): Promise<Result> {
    return this.keep(await this.site.request(path, this.init('GET')))
  }

  async post(path: string, fields: Record<string, string>): Promise<Result> {
    return this.keep(
      await this.site.request(path, {
        ...this.init('POST'),
        body: new URLSearchParams(fields).toString(),
      }),
    )
  }

  /** The CSRF token in the forms of the page at `path`. */
  async csrf(path = '/'): Promise<string> {
    const token = csrfTokenIn((await this.get(path)).body)
    if (!token) throw new Error(`no CSRF token on ${path}`)
    return token
  }

  /** Logs in through the login form; then opens the home page, as the redirect leads there. */
  async login(username: string): Promise<Result> {
    const token = await this.csrf('/login')
    const res = await this.post('/login', { _csrf: token, username })
    expect(res.status, `login as ${username}: ${res.body}`).toBe(303)
    expectLoggedIn(await this.get('/'), username)
    return res
  }

  /** Logs out with the header's logout form. */
  async logout(): Promise<Result> {
    const token = await this.csrf('/')
    return this.post('/logout', { _csrf: token })
  }

  private init(method: string): {
    method: string
    cookie?: string
    headers: Record<string, string>
  } {
    const headers: Record<string, string> = {}
    if (this.userAgent) headers['user-agent'] = this.userAgent
    if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded'
    const cookie = [this.cookie, this.loginCookie].filter(Boolean).join('; ')
    return { method, headers, ...(cookie ? { cookie } : {}) }
  }

  private keep(res: Result): Result {
    for (const header of res.setCookies) {
      const { name, value, attributes } = parseSetCookieStrict(header)
      const kept = value === '' || attributes.get('max-age') === '0' ? '' : `${name}=${value}`
      if (name === this.site.sessions.cookieName) this.cookie = kept
      else if (name === loginCookieName) this.loginCookie = kept
    }
    return res
  }
}

/**
 * A browser logged in as `user`. Its cookie is the one after the home page that follows login,
 * which takes out the welcome message: later requests with it change nothing.
 */
export async function loggedIn(
  site: DemoSite,
  user = 'alice',
  userAgent?: string,
): Promise<Browser> {
  const browser = new Browser(site, userAgent)
  await browser.login(user)
  return browser
}

// ---------------------------------------------------------------------------------------------
// Outcomes on the demo's home page

/**
 * ANON on the demo: `GET /` answers 200 and says "You are not logged in", with no store write,
 * no Set-Cookie that establishes a session (one deletion is allowed) and at most one warn line
 * (the harness's `anonViolations`, reading the demo's page instead of `/whoami`).
 */
export function expectDemoAnon(res: Result, what = ''): void {
  expect(demoAnonViolations(res), `ANON${what ? ` (${what})` : ''}`).toEqual([])
}

/** How `res` (a `GET /`) falls short of ANON on the demo; empty when it is ANON. */
export function demoAnonViolations(res: Result): string[] {
  return anonViolations(res, homePage)
}

function homePage(res: Result): string[] {
  const problems: string[] = []
  if (!res.body.includes('<h1>You are not logged in</h1>')) {
    problems.push('the page does not say "You are not logged in"')
  }
  const user = /<h1>Logged in as ([^<]*)<\/h1>/.exec(res.body)?.[1]
  if (user !== undefined) problems.push(`the page says "Logged in as ${user}"`)
  return problems
}

/** `GET /` shows `user` logged in. */
export function expectLoggedIn(res: Result, user: string, what = ''): void {
  expect(res.status, `logged in ${what}: status`).toBe(200)
  expect(/<h1>Logged in as ([^<]*)<\/h1>/.exec(res.body)?.[1], `logged in ${what}: user`).toBe(user)
}

/** `GET /` with the cookie `cookie` (a whole `name=value`, or any Cookie header). */
export function home(site: DemoSite, cookie?: string): Promise<Result> {
  return site.request('/', cookie === undefined ? {} : { cookie })
}

/** The demo's sessions, in a case that runs with a store only. */
export function storeSessionsOf<T extends object>(sessions: Sessions<T>): StoreSessions<T> {
  if (sessions.mode !== 'store') throw new Error('this case runs with a store')
  return sessions
}
