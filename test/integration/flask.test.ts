import { createServer } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../../demo/app.js'
import { createSessions } from '../../src/core/sessions.js'
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
    const login = await tessera.fetch('/login', form('bob <the builder>'))
    const cookie = sessionCookie(login)

    const page = await fetch(`${flask.url}/`, { headers: { cookie } })

    expect(await page.text()).toBe('Logged in as bob &lt;the builder&gt;')
  })

  it('logs out on Flask a user whose cookie tessera wrote, and the reverse', async () => {
    const cookie = sessionCookie(await tessera.fetch('/login', form('carol')))

    const flaskLogout = await fetch(`${flask.url}/logout`, {
      headers: { cookie },
      redirect: 'manual',
    })
    const afterFlask = flaskLogout.headers.getSetCookie()[0] ?? ''
    const flaskCookie = sessionCookie(await fetch(`${flask.url}/login`, form('dave')))
    const tesseraLogout = await tessera.fetch('/logout', {
      headers: { cookie: flaskCookie },
      redirect: 'manual',
    })

    expect(afterFlask).toMatch(/^session=; Expires=Thu, 01 Jan 1970/)
    expect(tesseraLogout.headers.getSetCookie()[0]).toMatch(/^session=; Expires=Thu, 01 Jan 1970/)
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
