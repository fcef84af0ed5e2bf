import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessions } from '../../src/core/sessions.js'
import { createApp } from './app.js'

describe('the Fastify tutorial app', () => {
  let app: FastifyInstance

  beforeAll(async () => {
    app = await createApp(createSessions({ secret: 'fastify-example-test-secret-32-bytes' }))
  })

  afterAll(async () => {
    await app.close()
  })

  it('logs in, greets the user by escaped name, and logs out', async () => {
    const login = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: '<b>Ada</b>' }).toString(),
    })
    const cookies = { session: login.cookies[0]!.value }
    const home = await app.inject({ url: '/', cookies })
    const logout = await app.inject({ url: '/logout', cookies })
    const after = await app.inject({ url: '/', cookies: { session: logout.cookies[0]!.value } })

    expect(login.statusCode).toBe(302)
    expect(login.headers.location).toBe('/')
    expect(home.body).toContain('Logged in as &#60;b&#62;Ada&#60;/b&#62;')
    expect(home.body).not.toContain('<b>')
    expect(logout.statusCode).toBe(302)
    expect(after.body).toContain('You are not logged in')
  })

  it('shows the login form, and refuses an empty username', async () => {
    const form = await app.inject({ url: '/login' })
    const empty = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=+',
    })

    expect(form.body).toContain('name="username"')
    expect(empty.statusCode).toBe(400)
    expect(empty.headers['set-cookie']).toBeUndefined()
  })
})
