/**
 * The Next.js example as it ships: `next build` (against tessera's build in dist/, by its
 * public names), then `next start` on a free port, driven over HTTP as a browser without
 * JavaScript drives it: the login form posts to its Server Action, `/` is a Server Component,
 * `/logout` a Route Handler, and the proxy runs before each of them. Once with cookie sessions,
 * once with SQLite. Telemetry is off and nothing reaches the network.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  actionForm,
  cookieOf,
  type NextServer,
  nextBuild,
  nextStart,
} from '../../test/support/next.js'
import { describeService } from '../../test/support/services.js'

const root = resolve(import.meta.dirname, '../..')
const example = import.meta.dirname
const built = existsSync(join(root, 'dist/adapters/next.js'))
const notBuilt = 'no build in dist/; `npm test` makes it first (or run `npm run build`)'

describeService('the Next.js tutorial app', built ? null : notBuilt, () => {
  beforeAll(async () => {
    await nextBuild(example)
  }, 300_000)

  for (const mode of ['cookie', 'sqlite'] as const) {
    describe(`with ${mode} sessions`, () => {
      let server: NextServer
      let data = ''

      beforeAll(async () => {
        mkdirSync(join(root, '.data'), { recursive: true })
        data = mkdtempSync(join(root, '.data', 'next-'))
        server = await nextStart(
          example,
          mode === 'cookie'
            ? { SESSION_STORE: 'cookie' }
            : { SESSION_STORE: 'sqlite', SESSION_DB: join(data, 'sessions.db') },
        )
      }, 60_000)

      afterAll(async () => {
        await server?.stop()
        if (data) rmSync(data, { recursive: true, force: true })
      })

      it('logs in through the Server Action, greets by escaped name, logs out through the Route Handler', async () => {
        const get = (path: string, cookie = '') =>
          fetch(server.origin + path, { headers: { cookie }, redirect: 'manual' })
        const anonymous = await get('/')
        const form = await (await get('/login')).text()

        const login = await fetch(`${server.origin}/login`, {
          method: 'POST',
          // A browser sends its Origin; Next refuses a Server Action from another one.
          headers: { origin: server.origin },
          body: actionForm(form, { username: '<b>Ada</b>' }),
          redirect: 'manual',
        })
        const cookie = cookieOf(login)
        const home = await (await get('/', cookie)).text()
        const logout = await get('/logout', cookie)
        const after = await (await get('/', cookieOf(logout))).text()

        expect(await anonymous.text()).toContain('You are not logged in')
        expect(anonymous.headers.getSetCookie()).toEqual([])
        expect(login.status).toBe(303)
        expect(login.headers.get('location')).toBe('/')
        expect(login.headers.getSetCookie()[0]).toMatch(
          /^session=[^;]+; Path=\/; HttpOnly; SameSite=lax$/,
        )
        expect(home).toContain('Logged in as &lt;b&gt;Ada&lt;/b&gt;')
        expect(home).not.toContain('<b>')
        expect([302, 303, 307]).toContain(logout.status)
        expect(logout.headers.get('location')).toBe('/')
        expect(logout.headers.getSetCookie().join()).toMatch(/^session=; .*Max-Age=0/)
        expect(after).toContain('You are not logged in')
      })

      it('gives a tampered cookie an anonymous page, not an error', async () => {
        const page = await fetch(`${server.origin}/`, {
          headers: { cookie: 'session=forged.value' },
        })

        expect(page.status).toBe(200)
        expect(await page.text()).toContain('You are not logged in')
      })
    })
  }
})
