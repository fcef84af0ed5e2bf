/**
 * The Next.js example as it ships: `next build` (against tessera's build in dist/, by its
 * public names), then `next start` on a free port, driven over HTTP as a browser without
 * JavaScript drives it: the login form posts to its Server Action, `/` is a Server Component,
 * `/logout` a Route Handler, and the proxy runs before each of them. Then in Chromium with
 * JavaScript on, as a visitor uses it: the form's Server Action called by React through fetch.
 * Once with cookie sessions, once with SQLite, on one build. Telemetry is off and nothing
 * reaches the network.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, openDevice } from '../../test/browser/chromium.js'
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

      describeService('in Chromium, with JavaScript', chromiumAvailable(), () => {
        let browser: Browser | undefined
        beforeAll(async () => {
          browser = await launchChromium()
        })
        afterAll(async () => {
          await browser?.close()
        })

        it('logs in through the Server Action called by fetch, keeps the session on reload, logs out', {
          timeout: 40_000,
        }, async () => {
          const context = await openDevice(browser!, { baseURL: server.origin })
          const page = await context.newPage()
          const problems: string[] = []
          page.on('pageerror', (error) => problems.push(error.message))
          page.on('console', (message) => {
            // A failed load is reported below, with its URL.
            if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
              problems.push(message.text())
          })
          page.on('response', (response) => {
            // The app has no icon; Chromium asks for one anyway.
            if (response.status() >= 400 && new URL(response.url()).pathname !== '/favicon.ico')
              problems.push(`${response.status()} ${response.url()}`)
          })
          try {
            // Loaded and idle: React has hydrated the form, so the submit is React's, not the
            // browser's own form post.
            await page.goto('/login', { waitUntil: 'networkidle' })
            await page.fill('input[name="username"]', 'Grace <3')
            const action = page.waitForRequest((request) => request.method() === 'POST')
            await page.click('input[type="submit"]')
            const posted = await action
            // Within the test's time, so a page that never greets fails saying what it waited for.
            await page.getByText('Logged in as Grace <3').waitFor({ timeout: 10_000 })
            const greeted = new URL(page.url()).pathname
            await page.reload()
            const reloaded = (await page.textContent('body')) ?? ''
            await page.click('text=Log out')
            await page.getByText('You are not logged in').waitFor({ timeout: 10_000 })

            expect(posted.resourceType()).toBe('fetch')
            expect(posted.headers()['next-action']).toMatch(/^[0-9a-f]+$/)
            expect(greeted).toBe('/')
            expect(reloaded).toContain('Logged in as Grace <3')
            expect(new URL(page.url()).pathname).toBe('/')
            expect(problems).toEqual([])
          } finally {
            await context.close()
          }
        })
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
