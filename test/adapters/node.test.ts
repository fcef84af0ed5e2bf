import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { type NodeSessionOptions, withSession } from '../../src/adapters/node.js'
import { createSessions } from '../../src/session/sessions.js'
import { createMemoryStore } from '../../src/stores/memory.js'
import { describeAdapter, suiteRoute } from '../contracts/adapter.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { listen } from '../support/http.js'

describeAdapter('node:http', async (sessions, options) => {
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
      { trustProxy: options?.trustProxy === false ? false : 2 },
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

  // `true` kept its old meaning, one hop, rather than Express's "every hop".
  it('takes the right-most X-Forwarded-For entry with trustProxy: true', async () => {
    const { sessions, app } = await loginServer({ trustProxy: true })

    await app.fetch('/', { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' } })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.ip).toBe('203.0.113.9')
  })

  it('walks X-Forwarded-For through trusted addresses and CIDR ranges only', async () => {
    const { sessions, app } = await loginServer({
      trustProxy: ['loopback', '10.0.0.0/8', '2001:db8::1'],
    })

    await app.fetch('/', {
      headers: { 'x-forwarded-for': '192.0.2.66, 198.51.100.1, 2001:db8::1, 10.1.2.3' },
    })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.ip).toBe('198.51.100.1')
  })

  it('asks a trustProxy function about each hop', async () => {
    const asked: [string, number][] = []
    const { sessions, app } = await loginServer({
      trustProxy: (address, hop) => {
        asked.push([address.replace(/^::ffff:/, ''), hop])
        return hop < 2
      },
    })

    await app.fetch('/', { headers: { 'x-forwarded-for': '192.0.2.66, 198.51.100.1, 10.0.0.1' } })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.ip).toBe('198.51.100.1')
    expect(asked).toEqual([
      ['127.0.0.1', 0],
      ['10.0.0.1', 1],
      ['198.51.100.1', 2],
    ])
  })

  it('trusts no proxy when the socket’s peer is not one', async () => {
    const { sessions, app } = await loginServer({ trustProxy: ['10.0.0.0/8'] })

    await app.fetch('/', { headers: { 'x-forwarded-for': '198.51.100.1' } })

    const [summary] = await sessions.listByUser('admin')
    expect(summary?.ip).toMatch(/127\.0\.0\.1$/)
  })

  it('refuses a trustProxy entry that is no address, at start-up', () => {
    const sessions = createSessions({ secret: 'node-adapter-test-secret-32-bytes!!' })

    expect(() => withSession(sessions, () => {}, { trustProxy: ['10.0.0.0/33'] })).toThrow(
      /"10\.0\.0\.0\/33", which is not an IP address or CIDR range/,
    )
  })

  describe('Vary on a response whose session was read, however writeHead is called', () => {
    const shared = { 'content-type': 'text/plain', vary: 'Accept-Encoding' }
    const cases: {
      name: string
      write: (res: import('node:http').ServerResponse) => void
      vary: string
      status?: string
      login?: boolean
    }[] = [
      {
        name: 'headers object without Vary',
        write: (res) => res.writeHead(200, { 'content-type': 'text/plain' }),
        vary: 'Cookie',
      },
      {
        name: 'its own Vary in the object, any case',
        write: (res) => res.writeHead(200, { 'Content-Type': 'text/plain', VARY: 'Origin' }),
        vary: 'Origin, Cookie',
      },
      {
        name: 'Vary set before, an object without it',
        write: (res) => {
          res.setHeader('Vary', 'Origin')
          res.writeHead(200, { 'content-type': 'text/plain' })
        },
        vary: 'Origin, Cookie',
      },
      {
        name: 'Vary set before, replaced by the object’s',
        write: (res) => {
          res.setHeader('Vary', 'Origin')
          res.writeHead(200, { vary: 'Accept-Language' })
        },
        vary: 'Accept-Language, Cookie',
      },
      {
        name: 'a status message and an object',
        write: (res) => res.writeHead(200, 'Fine', { 'content-type': 'text/plain' }),
        vary: 'Cookie',
        status: 'Fine',
      },
      {
        name: 'a raw header array',
        write: (res) => res.writeHead(200, ['content-type', 'text/plain', 'vary', 'Origin']),
        vary: 'Origin, Cookie',
      },
      {
        name: 'a raw array of pairs',
        write: (res) =>
          res.writeHead(200, [
            ['Vary', 'Origin'],
            ['content-type', 'text/plain'],
          ] as unknown as string[]),
        vary: 'Origin, Cookie',
      },
      {
        name: 'a login that sets the cookie, with its own Vary',
        write: (res) => res.writeHead(200, { 'content-type': 'text/plain', Vary: 'Origin' }),
        vary: 'Origin, Cookie',
        login: true,
      },
      { name: 'no headers at all', write: (res) => res.writeHead(204), vary: 'Cookie' },
      {
        name: 'an object the app shares between responses',
        write: (res) => res.writeHead(200, shared),
        vary: 'Accept-Encoding, Cookie',
      },
    ]

    it.each(cases)('$name', async ({ write, vary, status, login }) => {
      const sessions = createSessions({ secret: 'node-adapter-test-secret-32-bytes!!' })
      const app = closeAfter(
        await listen(
          createServer(
            withSession(sessions, (_req, res, session) => {
              if (login) session.set('user', 'admin')
              else session.get('user')
              write(res)
              res.end()
            }),
          ),
        ),
      )

      const first = await app.fetch('/')
      const second = await app.fetch('/')

      for (const res of [first, second]) {
        expect(res.headers.get('vary')).toBe(vary)
        if (login) expect(res.headers.getSetCookie()).toHaveLength(1)
        if (status) expect(res.statusText).toBe(status)
      }
      // Not written into: the next response starts from the app's own headers again.
      expect(shared).toEqual({ 'content-type': 'text/plain', vary: 'Accept-Encoding' })
    })
  })
})
