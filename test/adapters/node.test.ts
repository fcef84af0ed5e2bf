import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { type NodeSessionOptions, withSession } from '../../src/adapters/node.js'
import { createSessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { describeAdapter, suiteRoute } from '../contracts/adapter.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { listen } from '../support/http.js'

describeAdapter('node:http', async (sessions) => {
  const server = createServer(
    withSession(
      sessions,
      (req, res, session) => {
        const url = new URL(req.url ?? '/', 'http://localhost')
        const route = suiteRoute(req.method, url.pathname)
        if (!route) {
          res.statusCode = 404
          return res.end('not found')
        }
        const reply = route.handle(session, url.searchParams)
        if ('text' in reply) return res.end(reply.text)
        if ('json' in reply) {
          res.setHeader('content-type', 'application/json')
          return res.end(JSON.stringify(reply.json))
        }
        res.writeHead(303, { location: reply.redirect })
        return res.end()
      },
      { trustProxy: 2 },
    ),
  )
  return listen(server)
})

describe('node:http adapter', () => {
  const { closeAfter } = adapterFixture()

  async function loginServer(options: NodeSessionOptions) {
    const sessions = createSessions({
      secret: 'node-adapter-test-secret-32-bytes!!',
      store: createMemoryStore({ sweepInterval: 0 }),
    })
    const app = await listen(
      createServer(
        withSession(
          sessions,
          (_req, res, session) => {
            session.set('user', 'admin')
            session.setUser('admin')
            res.end('ok')
          },
          options,
        ),
      ),
    )
    return { sessions, app: closeAfter(app) }
  }

  // The adapter reads who made the request only when a session is created: still at the
  // request, with its socket and headers.
  it('records the client IP and User-Agent of the request that creates a session', async () => {
    const { sessions, app } = await loginServer({})

    await app.fetch('/', {
      headers: { 'user-agent': 'TestBrowser/1.0', 'x-forwarded-for': '203.0.113.9' },
    })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.userAgent).toBe('TestBrowser/1.0')
    expect(summary?.ip).toMatch(/127\.0\.0\.1$/)
  })

  it('takes the IP from X-Forwarded-For with trustProxy', async () => {
    const { sessions, app } = await loginServer({ trustProxy: true })

    await app.fetch('/', { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' } })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.ip).toBe('203.0.113.9')
  })
})
