import { describe, expect, it } from 'vitest'
import { createSessions } from '../../src/core/sessions.js'
import { cookieOf } from '../../test/contracts/adapter.js'
import { createApp } from './app.js'

describe('the Hono tutorial app', () => {
  const app = createApp(createSessions({ secret: 'hono-example-test-secret-32-bytes!!!' }))

  it('logs in, greets the user by escaped name, and logs out', async () => {
    const login = await app.request('/login', {
      method: 'POST',
      body: new URLSearchParams({ username: '<b>Ada</b>' }),
    })
    const cookie = cookieOf(login)
    const home = await (await app.request('/', { headers: { cookie } })).text()
    const logout = await app.request('/logout', { headers: { cookie } })
    const after = await (await app.request('/', { headers: { cookie: cookieOf(logout) } })).text()

    expect(login.status).toBe(302)
    expect(login.headers.get('location')).toBe('/')
    expect(home).toContain('Logged in as &lt;b&gt;Ada&lt;/b&gt;')
    expect(home).not.toContain('<b>')
    expect(logout.status).toBe(302)
    expect(after).toContain('You are not logged in')
  })

  it('shows the login form, and refuses an empty username', async () => {
    const form = await (await app.request('/login')).text()
    const empty = await app.request('/login', {
      method: 'POST',
      body: new URLSearchParams({ username: ' ' }),
    })

    expect(form).toContain('name="username"')
    expect(empty.status).toBe(400)
    expect(empty.headers.getSetCookie()).toEqual([])
  })
})
