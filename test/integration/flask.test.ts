import { createServer } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../../demo/app.js'
import { DemoClient } from '../../demo/test-client.js'
import { createSessions } from '../../src/session/sessions.js'
import { flaskAvailable, startFlask } from '../support/flask.js'
import { listen } from '../support/http.js'
import { describeService } from '../support/services.js'

const secret = 'shared-between-flask-and-tessera-32b'

/** `name=value` of a response's session cookie. */
function sessionCookie(res: Response): string {
  const header = res.headers.getSetCookie().find((c) => c.startsWith('session='))
  if (!header) throw new Error(`no session cookie on ${res.status}`)
  return header.slice(0, header.indexOf(';'))
}

const form = (username: string): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams({ username }),
  redirect: 'manual',
})

describeService('a Flask app and a tessera app sharing a SECRET_KEY', flaskAvailable(), () => {
  let flask: Awaited<ReturnType<typeof startFlask>>
  let tessera: Awaited<ReturnType<typeof listen>>

  beforeAll(async () => {
    flask = await startFlask(secret)
    const sessions = createSessions({ secret, format: 'flask' })
    tessera = await listen(createServer(createApp(sessions, sessions.description)))
  })

  afterAll(async () => {
    flask?.stop()
    await tessera?.close()
  })

  it('sees in tessera a user who logged in on Flask', async () => {
    const login = await fetch(`${flask.url}/login`, form('alice'))
    const cookie = sessionCookie(login)

    const page = await tessera.fetch('/', { headers: { cookie } })

    expect(await page.text()).toContain('Logged in as alice')
  })

  it('sees in Flask a user who logged in on tessera', async () => {
    const browser = new DemoClient(tessera)
    await browser.login('bob <the builder>')

    const page = await fetch(`${flask.url}/`, { headers: { cookie: browser.cookie } })

    expect(await page.text()).toBe('Logged in as bob &lt;the builder&gt;')
  })

  it('logs out on Flask a user who logged in on tessera, and the reverse', async () => {
    const carol = new DemoClient(tessera)
    await carol.login('carol')
    await carol.get('/')
    const dave = new DemoClient(tessera)
    dave.cookie = sessionCookie(await fetch(`${flask.url}/login`, form('dave')))

    const flaskLogout = await fetch(`${flask.url}/logout`, {
      headers: { cookie: carol.cookie },
      redirect: 'manual',
    })
    const carolAfter = new DemoClient(tessera)
    carolAfter.cookie = sessionCookie(flaskLogout)
    const tesseraLogout = await dave.logout()
    const daveOnFlask = await fetch(`${flask.url}/`, { headers: { cookie: dave.cookie } })

    expect((await carolAfter.get('/')).html).toContain('You are not logged in')
    expect(tesseraLogout.status).toBe(303)
    expect(await daveOnFlask.text()).toBe('You are not logged in')
  })

  it('rejects in tessera a Flask cookie signed with another key', async () => {
    const other = await startFlask('another-secret-that-is-32-bytes-ok')
    try {
      const cookie = sessionCookie(await fetch(`${other.url}/login`, form('mallory')))

      const page = await tessera.fetch('/', { headers: { cookie } })

      expect(await page.text()).toContain('You are not logged in')
    } finally {
      other.stop()
    }
  })
})
