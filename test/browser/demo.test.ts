/**
 * The demo site in a real browser: Debian's Chromium, driven by playwright-core. Pages run with
 * JavaScript off unless a test needs page script, since the site must work without it. Every
 * page the tests visit is saved as a screenshot under test-results/screenshots/ (git-ignored);
 * `UPDATE_DOCS_SCREENSHOTS=1` also refreshes the two the README shows, in docs/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../../demo/app.js'
import type { DemoSession } from '../../demo/config.js'
import { csrfTokenIn } from '../../demo/test-client.js'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import { type Listening, listen } from '../support/http.js'
import { describeService } from '../support/services.js'
import { chromiumAvailable, desktopUserAgent, launchChromium, openDevice } from './chromium.js'

const secret = 'browser-test-secret-that-is-32-bytes'
const screenshots = resolve('test-results/screenshots')
const docsScreenshots = resolve('docs/screenshots')
const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 ' +
  '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'

/** A device (a context of its own) with one page open, and what went wrong on it. */
interface Device {
  context: BrowserContext
  page: Page
  /** Console errors, page errors and dialogs: a dialog would mean injected script ran. */
  problems: string[]
}

describeService('demo site in Chromium', chromiumAvailable(), () => {
  let dir: string
  let storeSessions: Sessions<DemoSession>
  let cookieSessions: Sessions<DemoSession>
  let storeApp: Listening
  let cookieApp: Listening
  let chrome: string
  let chromium: Browser

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true })
    dir = mkdtempSync(join(tmpdir(), 'tessera-browser-'))
    storeSessions = createSessions({
      secret,
      store: createSqliteStore({ path: join(dir, 'sessions.db') }),
    })
    cookieSessions = createSessions({ secret })
    storeApp = await listen(createServer(createApp(storeSessions, storeSessions.description)))
    cookieApp = await listen(createServer(createApp(cookieSessions, cookieSessions.description)))
    chrome = await desktopUserAgent()
    chromium = await launchChromium()
  })

  afterAll(async () => {
    await chromium?.close()
    await storeApp?.close()
    await cookieApp?.close()
    await storeSessions?.close()
    await cookieSessions?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** A new device (its own cookie jar) on `app`, JavaScript off by default. */
  async function browser(
    app: Listening,
    options: { userAgent?: string; javaScript?: boolean } = {},
  ): Promise<Device> {
    const context = await openDevice(chromium, {
      baseURL: app.url,
      userAgent: options.userAgent ?? chrome,
      javaScriptEnabled: options.javaScript ?? false,
    })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('dialog', (dialog) => {
      problems.push(`a dialog opened: ${dialog.message()}`)
      void dialog.dismiss()
    })
    return { context, page, problems }
  }

  /** Logs in through the login form, as a user would. */
  async function login(page: Page, username: string): Promise<void> {
    await page.goto('/login')
    await page.getByLabel('Username').fill(username)
    await page.getByRole('button', { name: 'Log in', exact: true }).click()
    await page.waitForURL((url) => url.pathname === '/')
  }

  /**
   * Logs in with the same two requests the form makes, without drawing the pages: the
   * device's own cookie jar and User-Agent, for tests about what happens after login.
   */
  async function quickLogin(device: Device, username: string): Promise<void> {
    const form = await (await device.context.request.get('/login')).text()
    const token = csrfTokenIn(form)
    if (!token) throw new Error('no CSRF token in the login form')
    const res = await device.context.request.post('/login', {
      form: { _csrf: token, username },
      maxRedirects: 0,
    })
    expect(res.status()).toBe(303)
    // The page after login, as the browser would follow the redirect: it shows the welcome.
    await device.context.request.get('/')
  }

  /** Text as a reader sees it: runs of white space as one space, none at the ends. */
  const normalize = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim()
  const read = (locator: Locator) => locator.textContent().then(normalize)
  const heading = (page: Page) => read(page.getByRole('heading', { level: 1 }))
  const text = (page: Page) => read(page.locator('body'))
  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })

  /**
   * With UPDATE_DOCS_SCREENSHOTS=1, also saves the page as the README's screenshot in
   * docs/screenshots/ (committed), down to the top of `until` when given.
   */
  async function shootForDocs(page: Page, name: string, until?: string): Promise<void> {
    if (process.env.UPDATE_DOCS_SCREENSHOTS !== '1') return
    mkdirSync(docsScreenshots, { recursive: true })
    const box = until ? await page.locator(until).boundingBox() : null
    await page.screenshot({
      path: join(docsScreenshots, `${name}.png`),
      fullPage: true,
      ...(box ? { clip: { x: 0, y: 0, width: 1024, height: Math.ceil(box.y) - 8 } } : {}),
    })
  }

  it('logs in and shows the name, with JavaScript off', async () => {
    const { page, problems } = await browser(storeApp)

    await page.goto('/')
    await shoot(page, 'home-anonymous')
    expect(await heading(page)).toBe('You are not logged in')
    await page.getByRole('main').getByRole('link', { name: 'Log in' }).click()
    await shoot(page, 'login')
    await page.getByLabel('Username').fill('Ada Lovelace')
    await page.getByRole('button', { name: 'Log in', exact: true }).click()
    await page.waitForURL((url) => url.pathname === '/')

    expect(await heading(page)).toBe('Logged in as Ada Lovelace')
    expect(await read(page.getByRole('status'))).toContain('Welcome, Ada Lovelace!')
    expect(await read(page.locator('footer'))).toContain('Sessions: sqlite')
    await shoot(page, 'home')
    expect(problems).toEqual([])
  })

  it('explains an empty or too long username next to the field', async () => {
    const { page } = await browser(storeApp)
    await page.goto('/login')

    await page.getByLabel('Username').fill('   ')
    await page.getByRole('button', { name: 'Log in', exact: true }).click()
    await page.waitForLoadState()

    expect(await read(page.getByRole('alert'))).toBe('Please enter a username.')
    const field = page.getByLabel('Username')
    expect(await field.getAttribute('aria-invalid')).toBe('true')
    expect(await field.evaluate((el) => el === document.activeElement)).toBe(true)
    await shoot(page, 'login-error')
  })

  it('keeps the cookie from page script: HttpOnly, SameSite=Lax, document.cookie empty', async () => {
    const { page, context } = await browser(storeApp, { javaScript: true })
    await login(page, 'cookie monster')

    const cookies = await context.cookies()
    const session = cookies.find((c) => c.name === 'session')

    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false })
    expect(session!.expires).toBe(-1) // ends with the browser
    expect(await page.evaluate(() => document.cookie)).toBe('')
  })

  it('shows a script-injection username as text, running nothing', async () => {
    const { page, problems } = await browser(storeApp, { javaScript: true })
    const name = `<script>alert('xss')</script><img src=x onerror=alert(1)>`

    await login(page, name)
    await page.goto('/sessions')
    await page.goto('/')

    expect(await heading(page)).toBe(`Logged in as ${name}`)
    expect(await read(page.locator('header .who strong'))).toBe(name)
    expect(await page.locator('script').count()).toBe(0)
    expect(await page.locator('main img, header img').count()).toBe(0)
    expect(problems).toEqual([])
  })

  it('lets a second browser revoke the first, which is logged out on its next request', async () => {
    const first = await browser(storeApp)
    const second = await browser(storeApp, { userAgent: iphone })
    await quickLogin(first, 'grace')
    await quickLogin(second, 'grace')
    const cookie = async () =>
      (await first.context.cookies()).find((c) => c.name === 'session')?.value
    const revoked = await cookie()

    await first.page.goto('/sessions')
    const rows = first.page.locator('table.sessions tbody tr')
    expect(await rows.count()).toBe(2)
    expect(await read(rows.nth(0))).toMatch(/^Safari 17 on iOS 17.5/)
    expect(await read(first.page.locator('tr.current th'))).toMatch(
      /^Chrome \d+ on Linux\s+This browser$/,
    )
    await shoot(first.page, 'sessions')
    await shootForDocs(first.page, 'sessions')

    await second.page.goto('/sessions')
    await second.page.getByRole('button', { name: /^Revoke the session of Chrome/ }).click()
    await second.page.waitForLoadState()
    expect(await read(second.page.getByRole('status'))).toMatch(/Logged out Chrome \d+ on Linux\./)
    expect(await second.page.locator('table.sessions tbody tr').count()).toBe(1)

    await first.page.reload()
    expect(first.page.url()).toContain('/login?next=/sessions')
    expect(await read(first.page.getByRole('status'))).toBe(
      'Your session has ended: it expired, or it was logged out from another browser.',
    )
    await first.page.goto('/')
    expect(await heading(first.page)).toBe('You are not logged in')
    expect(await cookie()).not.toBe(revoked)
  })

  it('logs out everywhere else, keeping this browser', async () => {
    const here = await browser(storeApp)
    const phone = await browser(storeApp, { userAgent: iphone })
    const laptop = await browser(storeApp, { userAgent: firefox })
    for (const b of [phone, laptop, here]) await quickLogin(b, 'hopper')

    await here.page.goto('/sessions')
    expect(await here.page.locator('table.sessions tbody tr').count()).toBe(3)
    await here.page.getByRole('button', { name: 'Log out everywhere else' }).click()
    await here.page.waitForLoadState()

    expect(await read(here.page.getByRole('status'))).toBe(
      'Logged out everywhere else: 2 other sessions ended.',
    )
    expect(await here.page.locator('table.sessions tbody tr').count()).toBe(1)
    await shoot(here.page, 'sessions-after-everywhere-else')
    for (const other of [phone, laptop]) {
      await other.page.goto('/')
      expect(await heading(other.page)).toBe('You are not logged in')
      expect(await text(other.page)).toContain('Your session has ended')
    }
    await here.page.goto('/')
    expect(await heading(here.page)).toBe('Logged in as hopper')
  })

  it('refuses the login form without its CSRF token', async () => {
    const { page } = await browser(storeApp, { javaScript: true })
    await page.goto('/login')

    await page.locator('input[name="_csrf"]').evaluate((input) => input.remove())
    await page.getByLabel('Username').fill('mallory')
    const [response] = await Promise.all([
      page.waitForResponse((res) => res.request().method() === 'POST'),
      page.getByRole('button', { name: 'Log in', exact: true }).click(),
    ])
    await page.waitForLoadState()

    expect(response.status()).toBe(403)
    expect(await heading(page)).toBe('This form was not accepted')
    await shoot(page, 'csrf-refused')
    await page.goto('/')
    expect(await heading(page)).toBe('You are not logged in')
  })

  it('does not show the logged-in page again on "back" after logout', async () => {
    const { page } = await browser(storeApp)
    await login(page, 'Tim')
    const sessionsPage = await page.goto('/sessions')
    expect(sessionsPage!.headers()['cache-control']).toBe('no-store')
    expect(await text(page)).toContain('Tim')

    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await page.waitForURL((url) => url.pathname === '/')
    expect(await read(page.getByRole('status'))).toBe('You have been logged out.')
    expect(await heading(page)).toBe('You are not logged in')
    await shoot(page, 'logged-out')

    await page.goBack()
    await page.waitForLoadState()
    expect(await heading(page)).toBe('Log in')
    expect(await text(page)).not.toContain('Tim')
    await page.goBack()
    await page.waitForLoadState()
    expect(await text(page)).not.toContain('Logged in as Tim')
  })

  it('shows the store record in the inspector, never the session id', async () => {
    const device = await browser(storeApp)
    const { page, context } = device
    await quickLogin(device, 'Barbara')
    await page.goto('/inspect')
    await page.reload()

    const id = (await context.cookies()).find((c) => c.name === 'session')!.value.slice(0, 43)
    const body = await text(page)
    expect(body).toContain('The store record')
    expect(body).toMatch(/User\s*Barbara \(set by session.setUser\(\)/)
    expect(await page.content()).not.toContain(id)
    await shoot(page, 'inspect-store')
  })

  it('in cookie mode, explains why other devices cannot be listed, and decodes the cookie', async () => {
    const device = await browser(cookieApp)
    const { page, context } = device
    await quickLogin(device, 'Linus')

    await page.goto('/sessions')
    expect(await read(page.getByRole('heading', { level: 2 }).first())).toBe(
      'Cookie sessions cannot list or revoke your other devices',
    )
    expect(await read(page.locator('footer'))).toContain('Sessions: cookie/native')
    await shoot(page, 'sessions-cookie-mode')

    await page.goto('/inspect')
    const value = (await context.cookies()).find((c) => c.name === 'session')!.value
    expect(await read(page.locator('pre[aria-label="The cookie value"]'))).toBe(value)
    expect(await read(page.locator('pre[aria-label="The decoded data"]'))).toContain(
      '"username": "Linus"',
    )
    await shoot(page, 'inspect-cookie')
    await shootForDocs(page, 'inspector', 'section:has(#holds)')
  })

  it('offers a skip link first, then the content, by keyboard', async () => {
    const { page } = await browser(storeApp)
    await page.goto('/login')

    await page.keyboard.press('Tab')
    const first = await page.evaluate(() => document.activeElement?.textContent)
    await page.keyboard.press('Enter')
    await page.keyboard.press('Tab')
    const next = await page.evaluate(() => document.activeElement?.id)

    expect(first).toBe('Skip to content')
    expect(next).toBe('username')
  })

  it('loads the stylesheet under the CSP, with no errors', async () => {
    const device = await browser(storeApp, { javaScript: true })
    const { page, problems } = device
    await quickLogin(device, 'styled')

    for (const path of ['/', '/login', '/sessions', '/inspect', '/nowhere']) await page.goto(path)
    const color = await page.locator('.brand').evaluate((el) => getComputedStyle(el).fontWeight)

    expect(color).toBe('700')
    expect(problems.filter((p) => !p.includes('404'))).toEqual([])
  })
})
