/**
 * The server-side guarantees, proved per store through a real app over HTTP: no lost updates
 * under 100 concurrent requests, real revocation, and sessions per user.
 */
import { createServer } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { withSession } from '../../src/adapters/node.js'
import { createSessions, type StoreSessions } from '../../src/session/sessions.js'
import { cookieOf } from '../contracts/adapter.js'
import { type Listening, listen } from '../support/http.js'
import { describeService } from '../support/services.js'
import { storeKinds, type TestStore } from '../support/stores.js'

const secret = 'stores-over-http-secret-32-bytes-ok!'

function app(sessions: StoreSessions) {
  return withSession(sessions, async (req, res, session) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const q = url.searchParams
    switch (`${req.method} ${url.pathname}`) {
      case 'POST /login':
        session.regenerate()
        session.setUser(q.get('user')!)
        session.set('user', q.get('user'))
        return res.end('ok')
      case 'POST /set':
        session.set(q.get('k')!, Number(q.get('v')))
        return res.end('ok')
      case 'GET /all':
        res.setHeader('content-type', 'application/json')
        return res.end(JSON.stringify(session.toJSON()))
      case 'POST /logout-everywhere-else': {
        const key = sessions.keyOf(session)!
        const count = await sessions.destroyByUser(session.userId!, { except: key })
        return res.end(String(count))
      }
      default:
        res.statusCode = 404
        return res.end()
    }
  })
}

for (const kind of storeKinds) {
  describeService(`the ${kind.name} store behind a real app`, kind.unavailable(), () => {
    let made: TestStore
    let server: Listening

    beforeAll(async () => {
      made = await kind.make()
      server = await listen(createServer(app(createSessions({ secret, store: made.store }))))
    })

    afterAll(async () => {
      await server?.close()
      await made?.cleanup()
    })

    const login = async (user: string) =>
      cookieOf(await server.fetch(`/login?user=${user}`, { method: 'POST' }))

    it('keeps every key of 100 concurrent requests on one session', async () => {
      const cookie = await login('concurrent')

      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          server.fetch(`/set?k=k${i}&v=${i}`, { method: 'POST', headers: { cookie } }),
        ),
      )
      const data = await (await server.fetch('/all', { headers: { cookie } })).json()

      expect(responses.every((r) => r.status === 200)).toBe(true)
      for (let i = 0; i < 100; i++) expect(data[`k${i}`]).toBe(i)
      expect(data.user).toBe('concurrent')
    })

    it('logs out everywhere else: the other devices are anonymous on their next request', async () => {
      const here = await login('alice')
      const phone = await login('alice')
      const laptop = await login('alice')

      const revoked = await server.fetch('/logout-everywhere-else', {
        method: 'POST',
        headers: { cookie: here },
      })

      expect(await revoked.text()).toBe('2')
      expect(await (await server.fetch('/all', { headers: { cookie: here } })).json()).toEqual({
        user: 'alice',
      })
      expect(await (await server.fetch('/all', { headers: { cookie: phone } })).json()).toEqual({})
      expect(await (await server.fetch('/all', { headers: { cookie: laptop } })).json()).toEqual({})
    })
  })
}
