import { createServer } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessions } from '../../src/core/sessions.js'
import { cookieOf } from '../../test/contracts/adapter.js'
import { type Listening, listen } from '../../test/support/http.js'
import { createApp } from './app.js'

describe('the Koa tutorial app', () => {
  let app: Listening

  beforeAll(async () => {
    const sessions = createSessions({ secret: 'koa-example-test-secret-32-bytes!!!!!' })
    app = await listen(createServer(createApp(sessions).callback()))
  })

  afterAll(async () => {
    await app.close()
  })

  it('logs in, greets the user by escaped name, and logs out', async () => {
    const login = await app.fetch('/login', {
      method: 'POST',
      body: new URLSearchParams({ username: '<b>Ada</b>' }),
      redirect: 'manual',
    })
    const cookie = cookieOf(login)
    const home = await (await app.fetch('/', { headers: { cookie } })).text()
    const logout = await app.fetch('/logout', { headers: { cookie }, redirect: 'manual' })
    const after = await (await app.fetch('/', { headers: { cookie: cookieOf(logout) } })).text()

    expect(login.status).toBe(302)
    expect(login.headers.get('location')).toBe('/')
    expect(home).toContain('Logged in as &#60;b&#62;Ada&#60;/b&#62;')
    expect(home).not.toContain('<b>')
    expect(logout.status).toBe(302)
    expect(after).toContain('You are not logged in')
  })

  it('shows the login form, and refuses an empty username', async () => {
    const form = await (await app.fetch('/login')).text()
    const empty = await app.fetch('/login', {
      method: 'POST',
      body: new URLSearchParams({ username: ' ' }),
    })

    expect(form).toContain('name="username"')
    expect(empty.status).toBe(400)
    expect(empty.headers.getSetCookie()).toEqual([])
  })
})
