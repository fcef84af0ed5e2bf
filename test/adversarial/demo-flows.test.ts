/**
 * The cases of section 4 marked DEMO, against the demo site in each of its modes,
 * F-01, F-02, L-02 (the flood, at a reduced count, on the home page, logout, the login form and
 * /sessions), A-01, A-03, A-05, and the login form's CSRF protection, which needs no session.
 * Where the demo decides differently from the plan, the test pins what it does (see the
 * README's table).
 */
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../demo/config.js'
import { csrfTokenIn } from '../../demo/test-client.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { isWrite, keyOfCookie, type Result } from './app.js'
import {
  Browser,
  type DemoSite,
  demoAnonViolations,
  demoCookieName,
  demoStoreSessions,
  expectDemoAnon,
  expectLoggedIn,
  home,
  loggedIn,
  loginCookieName,
  storeSessionsOf,
  useDemo,
} from './demo-site.js'
import { cookieWith, forModes, installInvariants, parseSetCookieStrict, pool } from './harness.js'
import { signId } from './signer.js'

installInvariants()

const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'
const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

const sha256 = (id: string) => createHash('sha256').update(id).digest('base64url')

/** The id part of a server-side cookie value (`id.mac`). */
const idOf = (value: string) => value.slice(0, 43)

/** The store record behind a server-side cookie, read below the recorder. */
async function recordOf(site: DemoSite, cookie: string) {
  return site.spy!.get(keyOfCookie(cookie)!)
}

/** Attributes of a Set-Cookie header as a plain object, and its name and value. */
function cookieParts(header: string) {
  const { name, value, attributes } = parseSetCookieStrict(header)
  return { name, value, attributes: Object.fromEntries(attributes) }
}

/** The Set-Cookie headers of a response for the cookie `name`. */
const setCookiesOf = (r: Result, name: string) =>
  r.setCookies.filter((header) => parseSetCookieStrict(header).name === name)

/** What is wrong with an anonymous response under L-02: store writes, a session established. */
function l02Violations(r: Result, name: string): string[] {
  const problems: string[] = []
  const writes = r.calls.filter(isWrite)
  if (writes.length > 0) problems.push(`store writes: ${writes.map((c) => c.op).join(', ')}`)
  for (const header of setCookiesOf(r, name)) {
    // A deletion of a dead or refused cookie is fine; a value would establish a session.
    if (parseSetCookieStrict(header).value !== '') problems.push('a session cookie is set')
  }
  return problems
}

describe('demo site', () => {
  it('is configured for store modes as demo/config.ts configures it', async () => {
    const secret = randomBytes(32).toString('base64url')
    const config = await loadConfig({ SESSION_STORE: 'memory', SECRET_KEY: secret })
    const mirrored = demoStoreSessions(secret, createMemoryStore())
    try {
      expect(mirrored.mode).toBe(config.sessions.mode)
      expect(mirrored.cookieName).toBe(config.sessions.cookieName)
      expect(mirrored.cookieName).toBe(demoCookieName)
      expect(mirrored.description).toBe(config.sessions.description)
    } finally {
      await config.sessions.close()
      await mirrored.close()
    }
  })

  forModes('ALL', (mode) => {
    const h = useDemo(mode)
    const ck = mode.group === 'CK'

    it(`X-05 login, capture C, POST /logout; C replayed from the same and another browser ${ck ? 'still logs in (pinned: a cookie session cannot be revoked)' : '→ ANON, its record gone; /sessions with C → 303 to /login'}`, async () => {
      const site = h.app
      const browser = await loggedIn(site, 'alice', firefox)
      const c = browser.cookie
      if (!ck) expect(await recordOf(site, c), 'the record before logout').not.toBeNull()

      const out = await browser.logout()

      expect(out.status).toBe(303)
      expect(out.headers.location).toBe('/')
      if (!ck) expect(await recordOf(site, c), 'the record after logout').toBeNull()
      const again = new Browser(site, firefox)
      again.cookie = c
      const other = new Browser(site, iphone)
      other.cookie = c
      for (const [what, replay] of [
        ['same browser', again],
        ['another browser', other],
      ] as const) {
        const res = await replay.get('/')
        if (ck) expectLoggedIn(res, 'alice', `replay from the ${what}`)
        else expectDemoAnon(res, `replay from the ${what}`)
      }
      const protectedPage = await site.request('/sessions', { cookie: c })
      if (ck) {
        expect(protectedPage.status).toBe(200)
      } else {
        expect(protectedPage.status).toBe(303)
        expect(protectedPage.headers.location).toBe('/login?next=/sessions&ended=1')
        expect(l02Violations(protectedPage, site.sessions.cookieName)).toEqual([])
      }
    })

    it(`X-08 K1–K3 logged in as one user; K1 logs out everywhere else ${ck ? '→ nothing revoked (pinned: cookie sessions cannot be listed or revoked)' : '→ K2, K3 ANON at once, K1 stays; revoking one session by key, and only one’s own'}`, async () => {
      const site = h.app
      const [k1, k2, k3] = [
        await loggedIn(site, 'xavier', firefox),
        await loggedIn(site, 'xavier', iphone),
        await loggedIn(site, 'xavier'),
      ]
      const before = k1.cookie

      const token = await k1.csrf('/sessions')
      const res = await k1.post('/sessions/revoke-others', { _csrf: token })
      const page = await k1.get('/sessions')

      expect(res.status).toBe(303)
      expect(res.headers.location).toBe('/sessions')
      if (ck) {
        expect(page.body).toContain('Cookie sessions cannot list or revoke your other devices')
        expectLoggedIn(await k2.get('/'), 'xavier', 'K2')
        expectLoggedIn(await k3.get('/'), 'xavier', 'K3')
        return
      }
      expect(page.body).toContain('Logged out everywhere else: 2 other sessions ended.')
      expect(page.body).toContain('1 live session')
      expectDemoAnon(await k2.get('/'), 'K2')
      expectDemoAnon(await k3.get('/'), 'K3')
      expectLoggedIn(await k1.get('/'), 'xavier', 'K1')
      // Pinned: the plan's K1 changes its password and gets a new id; the demo has no
      // passwords, and "log out everywhere else" changes no privilege, so K1 keeps its id.
      expect(idOf(k1.value)).toBe(idOf(before.slice(before.indexOf('=') + 1)))
      expect(await storeSessionsOf(site.sessions).listByUser('xavier')).toHaveLength(1)

      // One session by its key, from the list.
      const k4 = await loggedIn(site, 'xavier', iphone)
      const list = (await k1.get('/sessions')).body
      const key = /name="key" value="([^"]+)"/.exec(list)?.[1]
      expect(key).toBe(keyOfCookie(k4.cookie))
      await k1.post('/sessions/revoke', { _csrf: csrfTokenIn(list)!, key: key! })
      expectDemoAnon(await k4.get('/'), 'K4, revoked by key')
      // Another user's session key is refused: it is not on the attacker's list.
      const k5 = await loggedIn(site, 'xavier', iphone)
      const mallory = await loggedIn(site, 'mallory')
      const stolenKey = keyOfCookie(k5.cookie)!
      const refused = await mallory.post('/sessions/revoke', {
        _csrf: await mallory.csrf('/sessions'),
        key: stolenKey,
      })
      expect(refused.status).toBe(303)
      expect((await mallory.get('/sessions')).body).toContain('That session had already ended.')
      expectLoggedIn(await k5.get('/'), 'xavier', 'K5 after another user tried to revoke it')
    })

    if (!ck) {
      it('F-01 a planted well-formed id never issued: the victim browses and logs in; every id issued differs, the store never holds hash(planted), the planted id stays ANON', async () => {
        const site = h.app
        const name = site.sessions.cookieName
        const forged = `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`
        const plantedId = randomBytes(32).toString('base64url')
        const signed = signId(site.secrets[0]!, name, plantedId)
        for (const [what, value] of [
          ['forged MAC', forged],
          ['valid MAC, never issued', signed],
        ] as const) {
          const id = idOf(value)
          const from = site.calls.length
          const planted = cookieWith(site, value)
          expectDemoAnon(await home(site, planted), `${what}: browsing`)
          const victim = new Browser(site)
          victim.cookie = planted
          await victim.get('/login')
          expect(victim.cookie, `${what}: the login form deletes the planted cookie`).toBe('')
          victim.cookie = planted
          await victim.login('victim')
          expect(idOf(victim.value), `${what}: the session after login`).not.toBe(id)
          const touched = site.calls.slice(from).filter((c) => c.key === sha256(id))
          if (what === 'forged MAC') expect(touched, 'a forged id is never looked up').toEqual([])
          expect(
            touched.filter((c) => c.op !== 'get'),
            `${what}: no write under hash(planted)`,
          ).toEqual([])
          expect(await site.spy!.get(sha256(id)), `${what}: no record`).toBeNull()
          expectDemoAnon(await home(site, planted), `${what}: the planted id afterwards`)
        }
      })
    }

    it(`F-02 an attacker plants his own valid anonymous session P; the victim logs in through it: a new ${ck ? 'cookie' : 'id, P’s record deleted'}, P → ANON, the attacker sees nothing of the victim`, async () => {
      const site = h.app
      // The login form makes no session; a logout does (one holding its message), and the
      // attacker keeps it by not opening the page that shows the message.
      const attacker = await loggedIn(site, 'attacker')
      await attacker.logout()
      const p = attacker.cookie
      expect(p, 'the logout gives an anonymous session').not.toBe('')

      // Planted while the victim's login form is open (the page showing P's message would
      // end P): the POST carries it.
      const victim = new Browser(site)
      const token = await victim.csrf('/login')
      victim.cookie = p
      if (!ck) expect(await recordOf(site, p), "P's record before the login").not.toBeNull()
      const login = await victim.post('/login', { _csrf: token, username: 'victim' })
      expect(login.status).toBe(303)
      expectLoggedIn(await victim.get('/'), 'victim')

      expect(victim.cookie).not.toBe(p)
      if (!ck) {
        expect(idOf(victim.value)).not.toBe(idOf(attacker.value))
        expect(await recordOf(site, p), "P's record").toBeNull()
      }
      const through = await attacker.get('/')
      expectDemoAnon(through, 'P after the victim logged in')
      expect(through.body).not.toContain('victim')
      const sessions = await attacker.get('/sessions')
      expect(sessions.status).toBe(303)
      expect(sessions.headers.location).toMatch(/^\/login\?next=\/sessions(&ended=1)?$/)
    })

    it('L-02 flood (reduced): 100 cookieless + 100 unknown ids + 50 anonymous POST /logout → 0 new records, 0 store writes, no Set-Cookie that establishes a session', async () => {
      const site = h.app
      const name = site.sessions.cookieName
      const records = ck ? 0 : await site.raw!.count()
      const writes = site.spy?.writes() ?? 0
      const kinds: string[] = []
      const tasks: (() => Promise<Result>)[] = []
      for (let i = 0; i < 100; i++) {
        kinds.push('cookieless')
        tasks.push(() => site.request('/'))
        const id = `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`
        kinds.push('unknown id')
        tasks.push(() => site.request('/', { cookie: `${name}=${id}` }))
        if (i % 2 === 0) {
          kinds.push('anonymous logout')
          tasks.push(() => site.request('/logout', { method: 'POST' }))
        }
      }

      const results = await pool(tasks, 25)

      const bad: string[] = []
      results.forEach((r, i) => {
        const kind = kinds[i]!
        if (kind === 'anonymous logout') {
          if (r.status !== 303 || r.headers.location !== '/') bad.push(`${kind}: ${r.status}`)
          if (r.setCookies.length > 0) bad.push(`${kind}: ${r.setCookies.join(' | ')}`)
          return
        }
        const problems = demoAnonViolations(r)
        if (problems.length > 0) bad.push(`${kind}: ${problems.join('; ')}`)
        if (kind === 'cookieless' && r.setCookies.length > 0) bad.push(`${kind}: a Set-Cookie`)
      })
      expect(bad).toEqual([])
      expect((site.spy?.writes() ?? 0) - writes, 'store writes').toBe(0)
      if (!ck) expect(await site.raw!.count(), 'records').toBe(records)
    })

    it(`L-02 flood (reduced) on the login form: 100 cookieless GET /login + 50 with unknown ids${ck ? '' : ' + 25 replays of a logged-out cookie on /sessions'} → 0 new records, 0 store writes, no Set-Cookie that establishes a session (the form's token rides in its own cookie)`, async () => {
      const site = h.app
      const name = site.sessions.cookieName
      let old = ''
      if (!ck) {
        const browser = await loggedIn(site, 'alice')
        old = browser.cookie
        await browser.logout()
        await browser.get('/')
      }
      const records = ck ? 0 : await site.raw!.count()
      const writes = site.spy?.writes() ?? 0
      const kinds: string[] = []
      const tasks: (() => Promise<Result>)[] = []
      for (let i = 0; i < 100; i++) {
        kinds.push('cookieless form')
        tasks.push(() => site.request('/login'))
        if (i % 2 === 0) {
          const id = `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`
          kinds.push('form, unknown id')
          tasks.push(() => site.request('/login?next=/sessions', { cookie: `${name}=${id}` }))
        }
        if (!ck && i % 4 === 0) {
          kinds.push('logged-out replay')
          tasks.push(() => site.request('/sessions', { cookie: old }))
        }
      }

      const results = await pool(tasks, 25)

      const bad: string[] = []
      results.forEach((r, i) => {
        const kind = kinds[i]!
        const problems = l02Violations(r, name)
        if (kind === 'logged-out replay') {
          if (r.status !== 303 || r.headers.location !== '/login?next=/sessions&ended=1') {
            problems.push(`${r.status} → ${r.headers.location}`)
          }
          if (r.setCookies.length !== 1) problems.push(`${r.setCookies.length} Set-Cookie headers`)
        } else {
          if (r.status !== 200 || !csrfTokenIn(r.body)) problems.push(`${r.status}, no token`)
          const login = setCookiesOf(r, loginCookieName)
          if (login.length !== 1) problems.push(`${login.length} login form cookies`)
          if (kind === 'cookieless form' && r.setCookies.length !== 1) {
            problems.push(`${r.setCookies.length} Set-Cookie headers`)
          }
        }
        if (problems.length > 0) bad.push(`${kind}: ${problems.join('; ')}`)
      })
      expect(bad).toEqual([])
      expect((site.spy?.writes() ?? 0) - writes, 'store writes').toBe(0)
      if (!ck) expect(await site.raw!.count(), 'records').toBe(records)
    })

    it('login CSRF without a session: POST /login without the token, with a wrong one, with another browser’s token or cookie, or with no cookie → 403 "This form was not accepted", nothing stored, nobody logged in; with its own token → 303, logged in', async () => {
      const site = h.app
      const victim = new Browser(site)
      const token = await victim.csrf('/login')
      const attacker = new Browser(site)
      const attackerToken = await attacker.csrf('/login')
      const [issued, mac] = token.split('.') as [string, string]
      const sessionToken = await (await loggedIn(site, 'other')).csrf('/')
      const writes = site.spy?.writes() ?? 0
      const records = ck ? 0 : await site.raw!.count()

      const refused = [
        ['no token', await victim.post('/login', { username: 'csrf-attacker' })],
        ['an empty token', await victim.post('/login', { _csrf: '', username: 'csrf-attacker' })],
        [
          'a changed MAC',
          await victim.post('/login', {
            _csrf: `${issued}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BA' : 'AA'}`,
            username: 'csrf-attacker',
          }),
        ],
        [
          'a changed time',
          await victim.post('/login', {
            _csrf: `${Number(issued) - 1}.${mac}`,
            username: 'csrf-attacker',
          }),
        ],
        [
          'the attacker’s token',
          await victim.post('/login', { _csrf: attackerToken, username: 'csrf-attacker' }),
        ],
        [
          'no login form cookie',
          await site.request('/login', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ _csrf: token, username: 'csrf-attacker' }).toString(),
          }),
        ],
        [
          'the session token of a logged-in page',
          await victim.post('/login', { _csrf: sessionToken, username: 'csrf-attacker' }),
        ],
      ] as const

      for (const [what, res] of refused) {
        expect(res.status, what).toBe(403)
        expect(res.body, what).toContain('<h1>This form was not accepted</h1>')
        expect(res.setCookies, what).toEqual([])
        expect(res.calls.filter(isWrite), what).toEqual([])
      }
      expect((site.spy?.writes() ?? 0) - writes, 'store writes').toBe(0)
      if (!ck) {
        expect(await site.raw!.count(), 'records').toBe(records)
        expect(await storeSessionsOf(site.sessions).listByUser('csrf-attacker')).toEqual([])
      }
      expectDemoAnon(await victim.get('/'), 'after the refused forms')

      const accepted = await victim.post('/login', { _csrf: token, username: 'victim' })
      expect(accepted.status).toBe(303)
      expect(setCookiesOf(accepted, loginCookieName).map((h) => cookieParts(h).value)).toEqual([''])
      expectLoggedIn(await victim.get('/'), 'victim')
      expect(victim.loginCookie, 'the form’s cookie is gone after login').toBe('')
    })

    it('A-01 login sets `session=<v>; HttpOnly; Path=/; SameSite=Lax`: no Domain, no Max-Age/Expires, no Secure (pinned), a token name and a base64url (+ dots) value; the login form sets only its own cookie, with the same attributes and an hour’s Expires', async () => {
      const site = h.app
      const browser = new Browser(site)
      const form = await browser.get('/login')
      const token = csrfTokenIn(form.body)!
      const res = await browser.post('/login', { _csrf: token, username: 'alice' })

      expect(setCookiesOf(res, 'session')).toHaveLength(1)
      const { value, attributes } = cookieParts(setCookiesOf(res, 'session')[0]!)
      // Pinned: the plan's `__Host-sid` demands Secure, which the demo leaves off so that it
      // runs on http://127.0.0.1; so its name is plain `session`, as in Flask.
      expect(attributes).toEqual({ path: '/', httponly: true, samesite: 'Lax' })
      expect(value).toMatch(ck ? /^[A-Za-z0-9_.-]+$/ : /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
      expect(res.status).toBe(303)
      expect(form.setCookies).toHaveLength(1)
      const login = cookieParts(form.setCookies[0]!)
      expect(login.name).toBe(loginCookieName)
      expect(login.value).toMatch(/^[A-Za-z0-9_-]{43}$/)
      const { expires, ...rest } = login.attributes
      expect(rest).toEqual({ path: '/', httponly: true, samesite: 'Lax' })
      expect(Date.parse(String(expires)) - Date.now()).toBeLessThanOrEqual(3600_000)
      expect(Date.parse(String(expires)) - Date.now()).toBeGreaterThan(3500_000)
      for (const r of [form, res]) expect(r.headers['cache-control']).toBe('no-store')
    })

    if (ck) {
      it('A-03 notes of 2-byte characters until the cookie would pass 4 096 bytes → 413 with a clear message, no Set-Cookie, the old cookie untouched; at the boundary the largest accepted cookie fits in 4 096 bytes', async () => {
        const site = h.app
        const browser = await loggedIn(site, 'hoarder')
        // Cyrillic letters: two UTF-8 bytes each, random so that Flask's zlib cannot pack them.
        const note = () =>
          Array.from({ length: 200 }, () =>
            String.fromCharCode(0x430 + (randomBytes(1)[0]! % 32)),
          ).join('')
        let last: Result | null = null
        let before = ''
        let text = ''
        for (let i = 0; i < 30; i++) {
          const token = await browser.csrf('/')
          before = browser.cookie
          text = note()
          last = await browser.post('/notes', { _csrf: token, note: text })
          if (last.status !== 303) break
        }

        expect(last!.status).toBe(413)
        expect(last!.body).toContain('Your session no longer fits in a cookie')
        const size = Number(
          /session cookie (\d+) bytes long; browsers keep at most 4096/.exec(last!.body)?.[1],
        )
        expect(size).toBeGreaterThan(4096)
        expect(last!.setCookies).toEqual([])
        expect(browser.cookie, 'the browser keeps its cookie').toBe(before)
        const page = await browser.get('/')
        expectLoggedIn(page, 'hoarder', 'after the refusal')
        expect(page.body).not.toContain(text)

        // The boundary: the longest prefix of the refused note that still fits.
        const token = await browser.csrf('/')
        const base = browser.cookie
        const attempt = async (chars: number): Promise<Result> => {
          browser.cookie = base
          return browser.post('/notes', { _csrf: token, note: text.slice(0, chars) })
        }
        let fits = 0
        let refused = text.length
        while (refused - fits > 1) {
          const mid = Math.floor((fits + refused) / 2)
          if ((await attempt(mid)).status === 303) fits = mid
          else refused = mid
        }
        const accepted = await attempt(fits)
        const tooBig = await attempt(refused)
        browser.cookie = base
        expect(accepted.status).toBe(303)
        const bytes = Buffer.byteLength(accepted.setCookies[0]!.split(';')[0]!)
        expect(bytes).toBeLessThanOrEqual(4096)
        expect(tooBig.status).toBe(413)
        expect(tooBig.setCookies).toEqual([])
        const over = Number(/session cookie (\d+) bytes long/.exec(tooBig.body)?.[1])
        // One more 2-byte character costs a few bytes of base64, not a whole note.
        expect(over).toBeGreaterThan(4096)
        expect(over - bytes).toBeLessThanOrEqual(32)
      })
    }

    it('A-05 GET /logout and a POST without its token leave the session; POST /logout → 303, no-store; the next page deletes the cookie (same attributes, Max-Age=0, past Expires) with Clear-Site-Data; back to /sessions → 303 to /login', async () => {
      const site = h.app
      const browser = new Browser(site)
      const loginCookie = cookieParts(setCookiesOf(await browser.login('alice'), 'session')[0]!)
      const shown = await browser.get('/')
      expect(shown.headers['cache-control'], 'a logged-in page is never cached').toBe('no-store')

      // Pinned: the plan wants 405 for GET /logout; the demo answers it with a confirmation
      // form (a link or prefetch cannot log anyone out), and the session survives either way.
      const confirm = await browser.get('/logout')
      expect(confirm.status).toBe(200)
      expect(confirm.body).toContain('<form method="post" action="/logout">')
      const forged = await browser.post('/logout', {})
      expect(forged.status).toBe(403)
      expectLoggedIn(await browser.get('/'), 'alice', 'after GET /logout and a forged POST')

      const out = await browser.logout()
      expect(out.status).toBe(303)
      expect(out.headers.location).toBe('/')
      expect(out.headers['cache-control']).toBe('no-store')
      // Pinned: the logout response carries a fresh session holding the "logged out" message,
      // and the page that shows it deletes the cookie and sends Clear-Site-Data (Chromium
      // would drop the message's own cookie if the logout response cleared the site).
      expect(out.headers['clear-site-data']).toBeUndefined()
      expect(out.setCookies).toHaveLength(1)
      expect(cookieParts(out.setCookies[0]!).value).not.toBe('')
      const after = await browser.get('/')
      expect(after.body).toContain('You have been logged out.')
      expect(after.body).toContain('<h1>You are not logged in</h1>')
      expect(after.setCookies).toHaveLength(1)
      const deletion = cookieParts(after.setCookies[0]!)
      expect(deletion.name).toBe(loginCookie.name)
      expect(deletion.value).toBe('')
      const { 'max-age': maxAge, expires, ...rest } = deletion.attributes
      expect(rest, 'the deletion repeats the cookie’s attributes').toEqual(loginCookie.attributes)
      expect(maxAge).toBe('0')
      expect(Date.parse(String(expires))).toBeLessThan(Date.now())
      // Pinned: the plan's demo also sends "cache"; this one clears cookies only (its pages
      // are no-store, so no cache holds them).
      expect(after.headers['clear-site-data']).toBe('"cookies"')
      expect(after.headers['cache-control']).toBe('no-store')
      expect(browser.cookie).toBe('')

      const back = await browser.get('/sessions')
      expect(back.status).toBe(303)
      expect(back.headers.location).toBe('/login?next=/sessions')
      expectDemoAnon(await browser.get('/'), 'back on the home page')
    })
  })
})
