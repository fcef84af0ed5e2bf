import { createServer } from 'node:http'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type AppSession, csrf, session, sessionErrors } from '../../src/adapters/express.js'
import type { Session } from '../../src/core/session.js'
import { createSessions, type Sessions } from '../../src/core/sessions.js'
import { csrfToken } from '../../src/features/csrf.js'
import { cookieOf, describeAdapter, type SuiteShape, suiteRoutes } from '../contracts/adapter.js'
import { describeCsrf } from '../contracts/csrf.js'
import { adapterFixture } from '../support/adapter-fixture.js'
import { type Listening, listen } from '../support/http.js'

function suiteApp(sessions: Sessions<SuiteShape>): Express {
  const app = express()
  app.use(session(sessions))
  for (const route of suiteRoutes) {
    app[route.method === 'GET' ? 'get' : 'post'](route.path, (req, res) => {
      const reply = route.handle(req.session, new URL(req.url, 'http://localhost').searchParams)
      if ('text' in reply) res.send(reply.text)
      else if ('json' in reply) res.json(reply.json)
      else res.redirect(303, reply.redirect)
    })
  }
  app.use(sessionErrors())
  return app
}

describeAdapter('express', async (sessions) => listen(createServer(suiteApp(sessions))))

const secret = 'express-adapter-test-secret-32-bytes'

describe('express adapter', () => {
  const { store, closeAfter } = adapterFixture()

  async function serve(build: (app: Express) => void): Promise<Listening> {
    const app = express()
    build(app)
    return closeAfter(await listen(createServer(app)))
  }

  async function loginCookie(app: Listening): Promise<string> {
    return cookieOf(await app.fetch('/login', { method: 'POST', redirect: 'manual' }))
  }

  function withLogin(app: Express): void {
    app.post('/login', (req, res) => {
      req.session.set('user', 'admin')
      res.redirect(303, '/')
    })
  }

  it('types req.session with the augmentable AppSession', () => {
    expectTypeOf<express.Request['session']>().toEqualTypeOf<Session<AppSession>>()
  })

  it('hands an async handler’s store failure to sessionErrors as a 503', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions, { lazy: true }))
      withLogin(app)
      app.get('/lazy', async (req, res) => {
        await req.session.load()
        res.send(String(req.session.get('user')))
      })
      app.use(sessionErrors())
    })
    const cookie = await loginCookie(app)
    store.fail = true

    const res = await app.fetch('/lazy', { headers: { cookie } })

    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('passes an async handler’s other errors on to the app’s error handler', async () => {
    const sessions = createSessions({ secret })
    const seen: unknown[] = []
    const teapot: ErrorRequestHandler = (error, _req, res, _next) => {
      seen.push(error)
      res.status(418).send('handled')
    }
    const app = await serve((app) => {
      app.use(session(sessions))
      app.get('/reject', async () => {
        await Promise.resolve()
        throw new Error('rejected')
      })
      app.use(sessionErrors(), teapot)
    })

    const res = await app.fetch('/reject')

    expect(res.status).toBe(418)
    expect(await res.text()).toBe('handled')
    expect(seen).toEqual([new Error('rejected')])
  })

  it('answers 503 through next(err) when the save at the end of the response fails', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      withLogin(app)
      app.post('/set', (req, res) => {
        req.session.set('theme', 'dark')
        store.fail = true
        res.redirect(303, '/')
      })
      app.use(sessionErrors())
    })
    const cookie = await loginCookie(app)

    const res = await app.fetch('/set', { method: 'POST', headers: { cookie }, redirect: 'manual' })

    expect(res.status).toBe(503)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.getSetCookie()).toEqual([])
    expect(await res.json()).toEqual({ error: 'session_store_unavailable' })
  })

  it('answers 503 through Express’s own handler without sessionErrors', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      withLogin(app)
      app.get('/whoami', (req, res) => {
        res.send(String(req.session.get('user')))
      })
    })
    const cookie = await loginCookie(app)
    store.fail = true

    const res = await app.fetch('/whoami', { headers: { cookie } })

    expect(res.status).toBe(503)
  })

  it('sends the cookie with the headers when a handler saves before streaming', async () => {
    const sessions = createSessions({ secret, store })
    const app = await serve((app) => {
      app.use(session(sessions))
      app.get('/stream', async (req, res) => {
        req.session.set('user', 'streamer')
        await req.session.save()
        res.write('one,')
        await new Promise((resolve) => setTimeout(resolve, 5))
        res.end('two')
      })
      app.get('/whoami', (req, res) => {
        res.send(String(req.session.get('user')))
      })
    })

    const res = await app.fetch('/stream')
    const body = await res.text()
    const whoami = await app.fetch('/whoami', { headers: { cookie: cookieOf(res) } })

    expect(body).toBe('one,two')
    expect(await whoami.text()).toBe('streamer')
  })
})

describeCsrf(
  'express',
  async () => {
    const sessions = createSessions({ secret: 'csrf-suite-secret-that-is-32-bytes!' })
    const app = express()
    app.use(
      express.urlencoded({ extended: false }),
      session(sessions),
      csrf({ exempt: ['/hooks/*'] }),
    )
    app.get('/token', (req, res) => {
      res.send(csrfToken(req.session))
    })
    app.post('/submit', (_req, res) => {
      res.send('ok')
    })
    app.post('/hooks/in', (_req, res) => {
      res.send('ok')
    })
    app.post('/login', (req, res) => {
      req.session.regenerate()
      res.send('ok')
    })
    return listen(createServer(app))
  },
  { form: true },
)
