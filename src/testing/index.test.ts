import { describe, expect, it } from 'vitest'
import { withSession } from '../adapters/fetch.js'
import { createSessions } from '../session/sessions.js'
import { createMemoryStore } from '../stores/memory.js'
import { readSession, sessionCookie, sessionToken, sessionTransaction } from './index.js'

const secret = 'testing-helpers-secret-32-bytes-ok!!'

for (const mode of ['cookie', 'store'] as const) {
  describe(`testing helpers (${mode} sessions)`, () => {
    const sessions = createSessions<{ username?: string; visits?: number }>(
      mode === 'store' ? { secret, store: createMemoryStore({ sweepInterval: 0 }) } : { secret },
    )
    const app = withSession(sessions, (request, session) => {
      if (new URL(request.url).pathname === '/visit')
        session.set('visits', (session.get('visits') ?? 0) + 1)
      if (new URL(request.url).pathname === '/logout') session.clear()
      return new Response(session.get('username') ?? 'anonymous')
    })
    const get = (path: string, cookie: string) =>
      app(new Request(`http://localhost${path}`, { headers: { cookie } }))

    it('makes a request carry a given session', async () => {
      const cookie = await sessionCookie(sessions, { username: 'admin' })

      const res = await get('/', cookie)

      expect(await res.text()).toBe('admin')
    })

    it("edits the session a cookie carries, as Flask's session_transaction", async () => {
      const cookie = await sessionCookie(sessions, { username: 'a' })

      const edited = await sessionTransaction(sessions, cookie, (s) => s.set('username', 'b'))

      expect(await (await get('/', edited)).text()).toBe('b')
    })

    it('reads the session as a response left it, and null when it deleted it', async () => {
      const cookie = await sessionCookie(sessions, { username: 'admin', visits: 1 })

      const visited = await readSession(sessions, await get('/visit', cookie), cookie)
      const untouched = await readSession(sessions, await get('/', cookie))
      const loggedOut = await readSession(sessions, await get('/logout', cookie))

      expect(visited).toEqual({ username: 'admin', visits: 2 })
      expect(untouched).toBeUndefined()
      expect(loggedOut).toBeNull()
    })
  })
}

describe('testing helpers (chunked cookie sessions)', () => {
  const sessions = createSessions<{ notes?: string }>({ secret, cookie: { chunks: true } })

  it('carries and reads back a session split over several cookies', async () => {
    const notes = 'n'.repeat(4500)
    const app = withSession(sessions, (_request, session) => {
      session.set('notes', `${session.get('notes')}!`)
      return new Response('ok')
    })

    const cookie = await sessionCookie(sessions, { notes })
    const res = await app(new Request('http://localhost/', { headers: { cookie } }))

    expect(cookie).toMatch(/^session\.0=[^;]+; session\.1=[^;]+$/)
    expect(await readSession(sessions, res, cookie)).toEqual({ notes: `${notes}!` })
  })
})

for (const mode of ['cookie', 'store'] as const) {
  for (const token of [true, { header: 'x-session' }] as const) {
    const header = token === true ? 'authorization' : 'x-session'
    describe(`testing helpers (${mode} sessions over ${header})`, () => {
      const sessions = createSessions<{ username?: string; visits?: number }>(
        mode === 'store'
          ? { secret, token, store: createMemoryStore({ sweepInterval: 0 }) }
          : { secret, token },
      )
      const app = withSession(sessions, (request, session) => {
        const path = new URL(request.url).pathname
        if (path === '/visit') session.set('visits', (session.get('visits') ?? 0) + 1)
        if (path === '/logout') session.clear()
        return new Response(session.get('username') ?? 'anonymous')
      })
      const get = (path: string, headers: Record<string, string>) =>
        app(new Request(`http://localhost${path}`, { headers }))

      it('makes a request carry a given session in its header', async () => {
        const headers = await sessionToken(sessions, { username: 'admin' })

        const res = await get('/', headers)

        expect(Object.keys(headers)).toEqual([header])
        if (header === 'authorization') expect(headers[header]).toMatch(/^Bearer \S+$/)
        expect(await res.text()).toBe('admin')
        expect(res.headers.getSetCookie()).toEqual([])
      })

      it('reads the session a response sent back, left alone, or ended', async () => {
        const headers = await sessionToken(sessions, { username: 'admin', visits: 1 })

        const visited = await readSession(sessions, await get('/visit', headers), headers)
        const untouched = await readSession(sessions, await get('/', headers), headers)
        const loggedOut = await readSession(sessions, await get('/logout', headers), headers)

        expect(visited).toEqual({ username: 'admin', visits: 2 })
        expect(untouched).toEqual({ username: 'admin', visits: mode === 'store' ? 2 : 1 })
        expect(loggedOut).toBeNull()
      })
    })
  }
}

describe('sessionToken', () => {
  it('says how to turn tokens on when the sessions take none', async () => {
    const sessions = createSessions({ secret })

    await expect(sessionToken(sessions, {})).rejects.toThrow(/token: true/)
  })
})
