import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseSetCookie } from 'cookie'
import { ConfigError, createSessions, type Sessions } from 'tessera'
import { createMemoryStore } from 'tessera/stores/memory'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen } from '../test/support/http.js'
import { describeService } from '../test/support/services.js'
import { spyStore } from '../test/support/spy-store.js'
import { storeKinds } from '../test/support/stores.js'
import { createApp, securityHeaders } from './app.js'
import { type DemoSession, loadConfig } from './config.js'
import { csrfTokenIn, DemoClient } from './test-client.js'

const secret = 'demo-test-secret-that-is-32-bytes!!'
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-demo-'))

const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'
const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

interface Mode {
  name: string
  unavailable: () => Promise<string | null>
  open: () => Promise<{ sessions: Sessions<DemoSession>; label: string; cleanup(): Promise<void> }>
}

const fromEnv = (name: string, env: NodeJS.ProcessEnv): Mode => ({
  name,
  unavailable: async () => null,
  open: async () => {
    const config = await loadConfig({ ...env, SECRET_KEY: secret, DATA_DIR: dataDir })
    return {
      sessions: config.sessions,
      label: config.storeLabel,
      cleanup: () => config.sessions.close(),
    }
  },
})

const modes: Mode[] = [
  fromEnv('cookie/native', { SESSION_STORE: 'cookie' }),
  fromEnv('cookie/encrypted', { SESSION_STORE: 'cookie', SESSION_FORMAT: 'encrypted' }),
  fromEnv('cookie/flask', { SESSION_STORE: 'cookie', SESSION_FORMAT: 'flask' }),
  fromEnv('cookie/native, revocable', {
    SESSION_STORE: 'cookie',
    SESSION_REVOCATION: `sqlite:${join(dataDir, 'generations.db')}`,
  }),
  fromEnv('sqlite (the default)', {}),
  ...storeKinds
    .filter((kind) => kind.name !== 'sqlite')
    .map(
      (kind): Mode => ({
        name: kind.name,
        unavailable: kind.unavailable,
        open: async () => {
          const made = await kind.make()
          const sessions = createSessions<DemoSession>({ secret, store: made.store })
          return {
            sessions,
            label: made.store.name,
            cleanup: async () => {
              await made.cleanup()
            },
          }
        },
      }),
    ),
]

afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

for (const mode of modes) {
  describeService(`demo site over HTTP (${mode.name})`, mode.unavailable(), () => {
    let app: Awaited<ReturnType<typeof listen>>
    let opened: Awaited<ReturnType<Mode['open']>>
    let cookieMode = false
    let revocable = false

    beforeAll(async () => {
      opened = await mode.open()
      cookieMode = opened.sessions.mode === 'cookie'
      revocable = cookieMode && 'destroyByUser' in opened.sessions
      app = await listen(createServer(createApp(opened.sessions, opened.label)))
    })

    afterAll(async () => {
      await app?.close()
      await opened?.cleanup()
    })

    const client = (userAgent?: string) =>
      new DemoClient(app, userAgent === undefined ? {} : { userAgent })

    it('says "You are not logged in" to a new visitor, and gives it no cookie', async () => {
      const { res, html } = await client().get('/')

      expect(html).toContain('You are not logged in')
      expect(html).toContain('href="/login"')
      expect(res.headers.getSetCookie()).toEqual([])
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('vary')).toMatch(/cookie/i)
    })

    it('sends the security headers on pages, redirects, errors and the stylesheet', async () => {
      const c = client()
      const responses = [
        (await c.get('/')).res,
        (await c.get('/login')).res,
        (await c.get('/no-such-page')).res,
        await c.post('/login', { username: 'x' }),
        await c.fetch('/sessions'),
        await c.fetch('/static/style.css'),
      ]

      for (const res of responses) {
        for (const [name, value] of Object.entries(securityHeaders)) {
          expect(res.headers.get(name), `${name} on ${res.url} (${res.status})`).toBe(value)
        }
      }
      expect(responses.map((r) => r.status)).toEqual([200, 200, 404, 403, 303, 200])
      expect(securityHeaders['content-security-policy']).toContain("style-src 'self'")
      expect(securityHeaders['content-security-policy']).not.toContain('unsafe-inline')
    })

    it('shows the mode and store in the footer', async () => {
      const { html } = await client().get('/')

      expect(html).toMatch(
        new RegExp(
          `<footer class="site">\\s*<p>Sessions: <strong class="mode">${opened.label}</strong>`,
        ),
      )
    })

    it('serves the stylesheet without touching the session', async () => {
      const c = client()
      await c.login('styles')

      const res = await c.fetch('/static/style.css')

      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8')
      expect(res.headers.getSetCookie()).toEqual([])
      expect(res.headers.get('vary')).toBeNull()
      expect(await res.text()).toContain(':focus-visible')
    })

    it('puts a CSRF token in the login form, tied to a cookie of its own: no session', async () => {
      const { res, html } = await client().get('/login')

      expect(csrfTokenIn(html)).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/)
      const cookies = res.headers.getSetCookie().map((c) => parseSetCookie(c))
      expect(cookies).toHaveLength(1)
      expect(cookies[0]).toMatchObject({ name: 'login-csrf', httpOnly: true, path: '/' })
      expect(cookies[0]!.expires!.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000)
      expect(html).toContain('<label for="username">Username</label>')
    })

    it('logs in, shows the name escaped, and logs out with a POST', async () => {
      const c = client()
      const name = '<script>alert("x")</script>'

      const login = await c.login(name)
      const home = await c.get('/')
      const logout = await c.logout()
      const afterLogout = await c.get('/')
      const later = await c.get('/')

      expect(login.status).toBe(303)
      expect(login.headers.get('location')).toBe('/')
      expect(home.html).toContain(
        '<h1>Logged in as &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</h1>',
      )
      expect(home.html).toContain('Welcome, &lt;script&gt;')
      expect(home.html).not.toContain('<script')
      expect(home.html).toContain('<form method="post" action="/logout">')
      expect(logout.status).toBe(303)
      expect(logout.headers.get('location')).toBe('/')
      expect(afterLogout.html).toContain('You are not logged in')
      expect(afterLogout.html).toContain('You have been logged out.')
      // The page that shows the message ends what is left of the session.
      expect(afterLogout.res.headers.getSetCookie()[0]).toMatch(/^session=; /)
      expect(afterLogout.res.headers.get('clear-site-data')).toBe('"cookies"')
      expect(c.cookie).toBe('')
      expect(later.html).not.toContain('You have been logged out.')
    })

    it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, browser-session', async () => {
      const res = await client().login('admin')

      const cookies = res.headers.getSetCookie().map((c) => parseSetCookie(c))
      const cookie = cookies.find((c) => c.name === 'session')!

      expect(cookie).toMatchObject({ name: 'session', httpOnly: true, sameSite: 'lax', path: '/' })
      expect(cookie.expires).toBeUndefined()
      // The login form's cookie has done its job.
      expect(cookies.find((c) => c.name === 'login-csrf')).toMatchObject({ value: '', maxAge: 0 })
    })

    it('gives a new session id at login (no session fixation)', async () => {
      const c = client()
      await c.login('before')
      // The session a logout leaves, holding its message: a session that is not logged in.
      await c.logout()
      const before = c.cookie

      await c.login('fixed')

      expect(before).not.toBe('')
      expect(c.cookie).not.toBe(before)
      const planted = new DemoClient(app)
      planted.cookie = before
      expect((await planted.get('/')).html).toContain('You are not logged in')
    })

    it('refuses an empty username and one over 64 characters, with a message', async () => {
      const c = client()

      const token = await c.csrf('/login')
      const empty = await c.post('/login', { _csrf: token, username: '  ' })
      const long = await c.post('/login', { _csrf: token, username: 'x'.repeat(65) })
      const longHtml = await long.text()
      const fits = await c.post('/login', { _csrf: token, username: '🙂'.repeat(64) })

      expect(empty.status).toBe(400)
      expect(await empty.text()).toContain('Please enter a username.')
      expect(long.status).toBe(400)
      expect(longHtml).toContain('A username has at most 64 characters.')
      expect(longHtml).toContain('aria-invalid="true"')
      expect(longHtml).toContain(`value="${'x'.repeat(65)}"`)
      expect(fits.status).toBe(303)
    })

    it('refuses a login without its CSRF token, or with a wrong one', async () => {
      const c = client()
      const token = await c.csrf('/login')

      const missing = await c.post('/login', { username: 'mallory' })
      const wrong = await c.post('/login', {
        _csrf: `${token.slice(0, -2)}xx`,
        username: 'mallory',
      })
      const stranger = await client().post('/login', { _csrf: token, username: 'mallory' })
      const other = client()
      await other.get('/login')
      const crossed = await other.post('/login', { _csrf: token, username: 'mallory' })

      for (const res of [missing, wrong, stranger, crossed]) {
        expect(res.status).toBe(403)
        expect(await res.text()).toContain('This form was not accepted')
        expect(res.headers.getSetCookie()).toEqual([])
      }
      expect((await c.get('/')).html).toContain('You are not logged in')
      expect((await c.post('/login', { _csrf: token, username: 'alice' })).status).toBe(303)
    })

    it('switches a logged-in user with the login form’s token, or the session’s', async () => {
      const c = client()
      await c.login('first')
      const { html } = await c.get('/login')
      const tokens = [...html.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]!)

      const viaForm = await c.post('/login', { _csrf: tokens[1]!, username: 'second' })
      await c.get('/')
      const page = await c.get('/login')
      const viaSession = await c.post('/login', {
        _csrf: csrfTokenIn(page.html)!,
        username: 'third',
      })

      // The header's logout form carries the session's token, the login form its own.
      expect(tokens).toHaveLength(2)
      expect(tokens[0]).not.toBe(tokens[1])
      expect(viaForm.status).toBe(303)
      expect(viaSession.status).toBe(303)
      expect((await c.get('/')).html).toContain('Logged in as third')
    })

    it('sends a logged-out cookie from /sessions to the login form, which says why', async () => {
      const c = client()
      await c.login('gone')
      const old = c.cookie
      await c.logout()
      const replay = new DemoClient(app)
      replay.cookie = old

      const res = await replay.fetch('/sessions')

      if (cookieMode) {
        // A cookie session cannot be revoked: the copy is still logged in.
        expect(res.status).toBe(200)
        return
      }
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/login?next=/sessions&ended=1')
      const form = await replay.get('/login?next=/sessions&ended=1')
      // The dead cookie is deleted, and nothing new is stored in its place.
      expect(res.headers.getSetCookie()).toEqual([
        'session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/; SameSite=Lax',
      ])
      expect(replay.cookie).toBe('')
      expect(form.html).toContain('Your session has ended')
      expect(form.html).toContain('Log in to see your sessions.')
    })

    it('keeps the user logged in when a logout comes without its token, or by GET', async () => {
      const c = client()
      await c.login('stays')

      const forged = await c.post('/logout', {})
      const link = await c.get('/logout')

      expect(forged.status).toBe(403)
      expect(link.res.status).toBe(200)
      expect(link.html).toContain('<button type="submit" class="primary">Log out</button>')
      expect((await c.get('/')).html).toContain('Logged in as stays')
    })

    it('keeps notes in the session, escaped', async () => {
      const c = client()
      await c.login('writer')
      const token = await c.csrf('/')

      await c.post('/notes', { _csrf: token, note: '<b>bold</b> & more' })
      const { html } = await c.get('/')

      expect(html).toContain('<li>&lt;b&gt;bold&lt;/b&gt; &amp; more</li>')
      expect(html).toContain('Note saved in your session.')
    })

    it('sends a visitor who is not logged in from /sessions to the login form', async () => {
      const res = await client().fetch('/sessions')
      const form = await client().get('/login?next=/sessions')

      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/login?next=/sessions')
      expect(form.html).toContain('Log in to see your sessions.')
      expect(form.html).toContain('<input type="hidden" name="next" value="/sessions">')
    })

    it('shows the session inspector: where the session lives, never the raw id', async () => {
      const c = client(firefox)
      await c.login('curious')
      await c.get('/')

      const { res, html } = await c.get('/inspect')

      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(html).toContain('<h1>Session inspector</h1>')
      expect(html).toContain('&quot;username&quot;: &quot;curious&quot;')
      const value = c.cookie.slice('session='.length)
      if (cookieMode) {
        expect(html).toContain(value)
        if (opened.label === 'cookie/encrypted') expect(html).toContain('AES-256-GCM')
        else expect(html).toContain('The data, decoded')
      } else {
        const id = value.slice(0, 43)
        const key = createHash('sha256').update(id).digest('base64url')
        expect(html).not.toContain(id)
        expect(html).toContain(key)
        expect(html).toContain('The store record')
        expect(html).toContain(firefox)
      }
    })

    it('lists the user’s sessions, or explains why cookie sessions cannot', async () => {
      const a = client(firefox)
      const b = client(iphone)
      await a.login('lister')
      await b.login('lister')

      const { res, html } = await b.get('/sessions')

      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      if (revocable) {
        expect(html).toContain('Revocable cookie sessions: no list, but “log out everywhere” works')
        expect(html).toContain('Safari 17 on iOS 17.5')
        expect(html).toContain('action="/sessions/revoke-others"')
        expect(html).not.toContain('action="/sessions/revoke"')
      } else if (cookieMode) {
        expect(html).toContain('Cookie sessions cannot list or revoke your other devices')
        expect(html).toContain('Safari 17 on iOS 17.5')
        expect(html).not.toContain('/sessions/revoke')
      } else {
        expect(html).toContain('2 live sessions')
        expect(html).toContain('Firefox 128 on Windows 10')
        expect(html).toMatch(/Safari 17 on iOS 17.5 <span class="badge">This browser<\/span>/)
        expect(html).toContain('127.0.0.1')
        expect(html.match(/action="\/sessions\/revoke"/g)).toHaveLength(1)
        expect(html).toContain('Log out everywhere else')
      }
    })

    it('revokes another session: its next request is logged out', async () => {
      if (cookieMode) return
      const a = client(firefox)
      const b = client(iphone)
      await a.login('revoker')
      await b.login('revoker')
      const page = (await b.get('/sessions')).html
      const key = /name="key" value="([^"]+)"/.exec(page)![1]!

      const res = await b.post('/sessions/revoke', { _csrf: csrfTokenIn(page)!, key })
      const after = await b.get('/sessions')
      const victim = await a.get('/')

      expect(res.status).toBe(303)
      expect(after.html).toContain('Logged out Firefox 128 on Windows 10.')
      expect(after.html).toContain('1 live session')
      expect(victim.html).toContain('You are not logged in')
      expect(victim.html).toContain('Your session has ended')
      expect(victim.res.headers.getSetCookie()[0]).toMatch(/^session=; /)
    })

    it('logs out everywhere else, and keeps this browser', async () => {
      if (cookieMode && !revocable) return
      const [a, b, c] = [client(firefox), client(iphone), client()]
      for (const x of [a, b, c]) await x.login('everywhere')

      const token = await c.csrf('/sessions')
      await c.post('/sessions/revoke-others', { _csrf: token })
      const page = await c.get('/sessions')

      if (revocable) {
        expect(page.html).toContain('Logged out everywhere else.')
      } else {
        expect(page.html).toContain('Logged out everywhere else: 2 other sessions ended.')
        expect(page.html).toContain('1 live session')
      }
      expect((await a.get('/')).html).toContain('You are not logged in')
      expect((await b.get('/')).html).toContain('You are not logged in')
      expect((await c.get('/')).html).toContain('Logged in as everywhere')
    })

    it('revokes only the user’s own sessions', async () => {
      if (cookieMode) return
      const [a1, a2, bob] = [client(firefox), client(iphone), client()]
      await a1.login('owner')
      await a2.login('owner')
      await bob.login('intruder')
      const key = /name="key" value="([^"]+)"/.exec((await a2.get('/sessions')).html)![1]!

      const token = await bob.csrf('/sessions')
      await bob.post('/sessions/revoke', { _csrf: token, key })

      expect((await bob.get('/sessions')).html).toContain('That session had already ended.')
      expect((await a1.get('/')).html).toContain('Logged in as owner')
    })

    it('ends a logged-out session in the store: the old cookie is worthless', async () => {
      const c = client()
      await c.login('leaver')
      const old = c.cookie

      await c.logout()
      const replay = new DemoClient(app)
      replay.cookie = old
      const { html } = await replay.get('/')

      // A cookie session cannot be revoked: a copy of the cookie stays valid until it expires.
      expect(html).toContain(cookieMode ? 'Logged in as leaver' : 'You are not logged in')
    })

    it('answers 413 with a clear message when notes outgrow a cookie', async () => {
      const c = client()
      await c.login('hoarder')
      let res: Response | undefined
      for (let i = 0; i < 30; i++) {
        const token = await c.csrf('/')
        res = await c.post('/notes', {
          _csrf: token,
          note: `${i} ${randomBytes(147).toString('base64url')}`,
        })
        if (res.status !== 303) break
      }

      if (cookieMode) {
        expect(res!.status).toBe(413)
        const html = await res!.text()
        expect(html).toContain('Your session no longer fits in a cookie')
        expect(html).toMatch(
          /would make the session cookie \d+ bytes long; browsers keep at most 4096/,
        )
        expect(res!.headers.getSetCookie()).toEqual([])
        expect((await c.get('/')).html).toContain('Logged in as hoarder')
      } else {
        expect(res!.status).toBe(303)
        const token = await c.csrf('/')
        await c.post('/notes', { _csrf: token, note: 'one too many' })
        expect((await c.get('/')).html).toContain('Your session keeps at most 30 notes.')
      }
    })
  })
}

describe('the demo site when the store is down', () => {
  it('answers 503 for pages with a session, and still serves the stylesheet', async () => {
    const store = spyStore(createMemoryStore())
    const sessions = createSessions<DemoSession>({ secret, store })
    const app = await listen(createServer(createApp(sessions, store.name)))
    try {
      const c = new DemoClient(app)
      await c.login('patient')
      store.fail = true

      const page = await c.fetch('/')
      const css = await c.fetch('/static/style.css')

      expect(page.status).toBe(503)
      expect(page.headers.get('retry-after')).toBe('5')
      expect(await page.text()).toBe('{"error":"session_store_unavailable"}')
      expect(page.headers.get('x-frame-options')).toBe('DENY')
      expect(css.status).toBe(200)
    } finally {
      await app.close()
    }
  })
})

describe('the inspector and cookie settings', () => {
  const base = { SECRET_KEY: secret, DATA_DIR: dataDir, SESSION_STORE: 'cookie' }

  it('is on in development, off under NODE_ENV=production, and INSPECTOR decides', async () => {
    const inspector = async (env: NodeJS.ProcessEnv) =>
      (await loadConfig({ ...base, ...env })).inspector

    expect(await inspector({})).toBe(true)
    expect(await inspector({ NODE_ENV: 'production' })).toBe(false)
    expect(await inspector({ NODE_ENV: 'production', INSPECTOR: 'on' })).toBe(true)
    expect(await inspector({ INSPECTOR: 'off' })).toBe(false)
    await expect(inspector({ INSPECTOR: 'yes' })).rejects.toThrow(ConfigError)
  })

  it('marks the cookie Secure under NODE_ENV=production, and SESSION_COOKIE_SECURE decides', async () => {
    const setCookie = async (env: NodeJS.ProcessEnv) => {
      const { sessions } = await loadConfig({ ...base, ...env })
      const session = sessions.open(undefined)
      session.set('username', 'admin')
      return (await sessions.commit(session)).setCookie ?? ''
    }

    expect(await setCookie({})).not.toMatch(/; Secure/)
    expect(await setCookie({ NODE_ENV: 'production' })).toMatch(/; Secure/)
    expect(await setCookie({ SESSION_COOKIE_SECURE: 'on' })).toMatch(/; Secure/)
    expect(await setCookie({ NODE_ENV: 'production', SESSION_COOKIE_SECURE: 'off' })).not.toMatch(
      /; Secure/,
    )
    await expect(setCookie({ SESSION_COOKIE_SECURE: '1' })).rejects.toThrow(ConfigError)
  })

  it('names the login form’s cookie __Host-login-csrf and marks it Secure when cookies are', async () => {
    const config = await loadConfig({ ...base, SESSION_COOKIE_SECURE: 'on' })
    const app = await listen(
      createServer(
        createApp(config.sessions, config.storeLabel, {
          secret: config.secrets,
          secureCookies: config.secureCookies,
        }),
      ),
    )
    try {
      const c = new DemoClient(app)
      const form = await c.get('/login')
      const login = await c.post('/login', { _csrf: csrfTokenIn(form.html)!, username: 'sam' })

      expect(form.res.headers.getSetCookie()).toEqual([
        expect.stringMatching(/^__Host-login-csrf=[A-Za-z0-9_-]{43}; Expires=[^;]+; Secure; /),
      ])
      expect(login.status).toBe(303)
    } finally {
      await app.close()
    }
  })

  it('leaves /inspect unanswered, and out of the menu, when off', async () => {
    const sessions = createSessions<DemoSession>({ secret })
    const app = await listen(
      createServer(createApp(sessions, 'cookie/native', { inspector: false })),
    )
    try {
      const page = await app.fetch('/inspect')
      const home = await (await app.fetch('/')).text()

      expect(page.status).toBe(404)
      expect(home).not.toContain('href="/inspect"')
    } finally {
      await app.close()
    }
  })
})
