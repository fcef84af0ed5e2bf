import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseSetCookie } from 'cookie'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen } from '../test/support/http.js'
import { createApp } from './app.js'
import { loadConfig } from './config.js'

const secret = 'demo-test-secret-that-is-32-bytes!!'
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-demo-'))

const modes: Record<string, NodeJS.ProcessEnv> = {
  'cookie/native': { SESSION_STORE: 'cookie' },
  'cookie/encrypted': { SESSION_STORE: 'cookie', SESSION_FORMAT: 'encrypted' },
  'cookie/flask': { SESSION_STORE: 'cookie', SESSION_FORMAT: 'flask' },
  memory: { SESSION_STORE: 'memory' },
  'sqlite (the default)': {},
}

afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

for (const [mode, env] of Object.entries(modes)) {
  describe(`the tutorial app over HTTP (${mode})`, () => {
    let app: Awaited<ReturnType<typeof listen>>

    beforeAll(async () => {
      const config = await loadConfig({ ...env, SECRET_KEY: secret, DATA_DIR: dataDir })
      app = await listen(createServer(createApp(config.sessions, config.storeLabel)))
    })

    afterAll(async () => {
      await app.close()
    })

    const login = (username: string) =>
      app.fetch('/login', {
        method: 'POST',
        body: new URLSearchParams({ username }),
        redirect: 'manual',
      })

    it('says "You are not logged in" to a new visitor, with a link to log in', async () => {
      const res = await app.fetch('/')

      const html = await res.text()
      expect(html).toContain('You are not logged in')
      expect(html).toContain('href="/login"')
      expect(res.headers.getSetCookie()).toEqual([])
    })

    it('logs in, shows the name escaped, and logs out', async () => {
      const name = '<script>alert("x")</script>'

      const res = await login(name)
      const header = res.headers.getSetCookie()[0]!
      const cookie = header.slice(0, header.indexOf(';'))
      const home = await (await app.fetch('/', { headers: { cookie } })).text()
      const out = await app.fetch('/logout', { headers: { cookie }, redirect: 'manual' })
      const after = out.headers.getSetCookie()[0] ?? ''
      const cookieAfter = after.startsWith('session=;') ? '' : cookie
      const homeAfter = await (await app.fetch('/', { headers: { cookie: cookieAfter } })).text()

      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('/')
      expect(home).toContain('Logged in as &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')
      expect(home).not.toContain('<script>')
      expect(out.status).toBe(302)
      expect(homeAfter).toContain('You are not logged in')
    })

    it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, browser-session', async () => {
      const res = await login('admin')

      const cookie = parseSetCookie(res.headers.getSetCookie()[0]!)

      expect(cookie).toMatchObject({ name: 'session', httpOnly: true, sameSite: 'lax', path: '/' })
      expect(cookie.expires).toBeUndefined()
    })

    it('refuses an empty username and one over 64 characters, with a message', async () => {
      const empty = await login('  ')
      const long = await login('x'.repeat(65))

      expect(empty.status).toBe(400)
      expect(await empty.text()).toContain('Please enter a username')
      expect(long.status).toBe(400)
      expect(await long.text()).toContain('at most 64 characters')
    })

    it('keeps pages that show the session out of caches', async () => {
      const res = await app.fetch('/')

      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('vary')).toMatch(/cookie/i)
    })
  })
}
