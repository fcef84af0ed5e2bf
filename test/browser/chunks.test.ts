/**
 * A session larger than one cookie, in a real browser: Chromium must keep every chunk, send
 * them all back in one Cookie header, and drop them when the session shrinks.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { withSession } from '../../src/adapters/node.js'
import { createSessions } from '../../src/session/sessions.js'
import { type Listening, listen } from '../support/http.js'
import { describeService } from '../support/services.js'
import { chromiumAvailable, launchChromium, openDevice } from './chromium.js'

const secret = 'browser-chunks-secret-that-32-bytes!'
// 10 KB that no codec could shrink: hex of random bytes.
const notes = randomBytes(5120).toString('hex')
const digest = (text: string) => createHash('sha256').update(text).digest('hex')

describeService('chunked session cookies in Chromium', chromiumAvailable(), () => {
  // 10 KB of data is about 13.7 KB signed: more than the 8 KB default, within Node's 16 KB.
  const sessions = createSessions<{ notes?: string }>({
    secret,
    cookie: { chunks: { maxBytes: 16_384 } },
  })
  let app: Listening
  let chromium: Browser

  beforeAll(async () => {
    app = await listen(
      createServer(
        withSession(sessions, (req, res, session) => {
          if (req.url === '/fill') session.set('notes', notes)
          if (req.url === '/shrink') session.set('notes', 'short')
          const held = session.get('notes') ?? ''
          res.setHeader('content-type', 'text/plain')
          res.end(`${held.length} ${digest(held)}`)
        }),
      ),
    )
    chromium = await launchChromium()
  })

  afterAll(async () => {
    await chromium?.close()
    await app?.close()
  })

  it('round-trips a 10 KB session over several cookies, and drops them as it shrinks', async () => {
    const context = await openDevice(chromium, { baseURL: app.url, javaScriptEnabled: false })
    const page = await context.newPage()

    await page.goto('/fill')
    const names = (await context.cookies()).map((cookie) => cookie.name).sort()
    await page.goto('/read')
    const read = await page.locator('body').textContent()
    await page.goto('/shrink')
    const after = (await context.cookies()).map((cookie) => cookie.name)
    await page.goto('/read')
    const shrunk = await page.locator('body').textContent()

    expect(names).toEqual(['session.0', 'session.1', 'session.2', 'session.3'])
    expect(read).toBe(`${notes.length} ${digest(notes)}`)
    expect(after).toEqual(['session'])
    expect(shrunk).toBe(`5 ${digest('short')}`)
    await context.close()
  })
})
