/**
 * Every system the HTTP benchmark serves: the Flask tutorial app (GET / says who is logged in,
 * POST /login logs in and redirects, GET /ping never looks at the session), kept as equivalent
 * and as small as each framework allows. Frameworks are imported inside `build`, so a server
 * process loads only its own.
 * @module
 */
import { mkdirSync } from 'node:fs'
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http'
import { join } from 'node:path'
import type { RequestHandler } from 'express'
import type { FastifyPluginCallback } from 'fastify'
import type { Store } from '../../src/stores/types.js'
import {
  databaseUrl,
  dataDir,
  pgSchema,
  redisPrefix,
  redisUrl,
  secret,
  username,
} from './config.js'

export type Framework = 'node:http' | 'express' | 'fastify' | 'next'
export type Scenario = 'read' | 'anon' | 'write' | 'skip'

export interface SystemSpec {
  /** A unique id, used on the command line (`--only`) and by the server process. */
  id: string
  /** The session library, or the framework alone when there is none. */
  system: string
  framework: Framework
  mode: string
  /** The id of the same framework with no sessions, for the framework ratio. */
  baseline?: string
  /** A service that must be up (`redis-cluster`: the one `REDIS_CLUSTER_URL` names). */
  needs?: 'redis' | 'postgres' | 'redis-cluster'
  scenarios: readonly Scenario[]
  /** Whether the quick run includes it. */
  quick: boolean
  /** tessera's `lazy` option: the handler loads a server-side session itself when it needs it. */
  lazy?: boolean
  /**
   * How the client carries its session: in `Authorization: Bearer` (tessera's `token`), not in
   * the cookie. @default 'cookie'
   */
  carrier?: 'cookie' | 'token'
}

/** What a running system gives the server process. */
export interface Running {
  port: number
  stop(): Promise<void>
}

export interface BuildContext {
  runId: string
}

const all: Scenario[] = ['read', 'anon', 'write']
const withSkip: Scenario[] = ['read', 'skip', 'anon', 'write']

/** Per framework: the id of its bare system, its name in tessera's ids, and what it runs. */
const frameworks: Record<Framework, { bare: string; short: string; scenarios: Scenario[] }> = {
  'node:http': { bare: 'bare', short: 'node', scenarios: withSkip },
  express: { bare: 'express', short: 'express', scenarios: all },
  fastify: { bare: 'fastify', short: 'fastify', scenarios: all },
  next: { bare: 'next', short: 'next', scenarios: withSkip },
}

export const systems: readonly SystemSpec[] = [
  bare('node:http'),
  tessera('node:http', 'native'),
  tessera('node:http', 'encrypted'),
  tessera('node:http', 'flask'),
  tessera('node:http', 'memory'),
  tessera('node:http', 'sqlite'),
  // The same store in SQLite's exclusive locking mode, for an app with one process per file.
  peer('node:http', 'tessera-node-sqlite-exclusive', 'tessera', 'sqlite, exclusive', {
    quick: false,
  }),
  tessera('node:http', 'redis'),
  tessera('node:http', 'postgres'),
  // A Redis Cluster, writes acknowledged by the master (the default) or only once a replica
  // has them too (`replicas: { wait: 1 }`): what the durability costs. Both need
  // REDIS_CLUSTER_URL, e.g. a cluster from `npx tsx bench/cluster.ts`.
  tessera('node:http', 'redis-cluster', { quick: false }),
  tessera('node:http', 'redis-cluster-wait', { quick: false }),
  // Revocable cookie sessions: a signed cookie bound to its user, whose generation is read from
  // Redis on every request (cache 0, the default) or once per 5 s per process.
  {
    ...peer('node:http', 'tessera-node-revocable', 'tessera', 'revocable cookie, redis'),
    needs: 'redis',
  },
  {
    ...peer(
      'node:http',
      'tessera-node-revocable-cached',
      'tessera',
      'revocable cookie, redis, cache 5 s',
      {
        quick: false,
      },
    ),
    needs: 'redis',
  },
  tessera('node:http', 'memory', { lazy: true }),
  tessera('node:http', 'sqlite', { lazy: true }),
  tessera('node:http', 'redis', { lazy: true }),
  tessera('node:http', 'postgres', { lazy: true }),
  peer('node:http', 'iron-node', 'iron-session', 'encrypted cookie'),
  // Where a cost changes with the transport: the session in a header token, and a session of
  // 10 KB split over four cookies (logging in stores 10 KB beside the username).
  {
    ...peer('node:http', 'tessera-node-token', 'tessera', 'native cookie, token', {
      quick: false,
    }),
    scenarios: ['read', 'write'],
    carrier: 'token',
  },
  {
    ...peer('node:http', 'tessera-node-chunked', 'tessera', 'native cookie, 10 KB chunked', {
      quick: false,
    }),
    scenarios: ['read', 'write'],
  },
  bare('express'),
  tessera('express', 'native'),
  tessera('express', 'memory'),
  tessera('express', 'redis', { quick: false }),
  peer('express', 'express-session-memory', 'express-session', 'memory'),
  peer('express', 'express-session-redis', 'express-session', 'redis', { quick: false }),
  bare('fastify'),
  tessera('fastify', 'native'),
  tessera('fastify', 'encrypted', { quick: false }),
  tessera('fastify', 'memory'),
  peer('fastify', 'fastify-session', '@fastify/session', 'memory'),
  peer('fastify', 'fastify-secure-session', '@fastify/secure-session', 'encrypted cookie'),
  // Next.js 16 serving the routes as Route Handlers (bench/next-app, built before the run),
  // through its own server under node:http: tessera's Next adapter against Next alone. Out of
  // the quick run, which needs no build.
  { ...bare('next'), quick: false },
  tessera('next', 'native', { quick: false }),
]

/** Systems only the memory benchmark starts. */
export const memorySystems: readonly SystemSpec[] = [
  {
    id: 'tessera-node-memory-expiring',
    system: 'tessera',
    framework: 'node:http',
    mode: 'memory, expiring',
    scenarios: ['write'],
    quick: true,
  },
]

export function systemById(id: string): SystemSpec {
  const spec = [...systems, ...memorySystems].find((s) => s.id === id)
  if (!spec) throw new Error(`no system "${id}"; known: ${systems.map((s) => s.id).join(', ')}`)
  return spec
}

/** The framework serving the app with no sessions at all: the ceiling of its systems. */
function bare(framework: Framework): SystemSpec {
  const { bare: id, scenarios } = frameworks[framework]
  return { id, system: id, framework, mode: 'none', scenarios, quick: true }
}

/** A session system on `framework`, measured against its bare system. */
function peer(
  framework: Framework,
  id: string,
  system: string,
  mode: string,
  { quick = true }: { quick?: boolean } = {},
): SystemSpec {
  const { bare, scenarios } = frameworks[framework]
  // A system that keeps its sessions in Redis or Postgres cannot start without that service.
  const needs = (['redis-cluster', 'redis', 'postgres'] as const).find((service) =>
    mode.startsWith(service),
  )
  return {
    id,
    system,
    framework,
    mode,
    baseline: bare,
    ...(needs ? { needs } : {}),
    scenarios,
    quick,
  }
}

/** tessera on `framework` with the cookie format or store `key` names. */
function tessera(
  framework: Framework,
  key:
    | 'native'
    | 'encrypted'
    | 'flask'
    | 'memory'
    | 'sqlite'
    | 'redis'
    | 'postgres'
    | 'redis-cluster'
    | 'redis-cluster-wait',
  { quick = true, lazy = false }: { quick?: boolean; lazy?: boolean } = {},
): SystemSpec {
  const mode =
    key === 'native' || key === 'encrypted' || key === 'flask'
      ? `${key} cookie`
      : key === 'redis-cluster-wait'
        ? 'redis-cluster, wait 1'
        : key
  const id = `tessera-${frameworks[framework].short}-${key}`
  if (!lazy) return peer(framework, id, 'tessera', mode, { quick })
  // With `lazy: true`, a request that never touches a server-side session costs no store call:
  // only the skip scenario tells it apart, and it stays out of the quick run.
  return {
    ...peer(framework, `${id}-lazy`, 'tessera', `${mode}, lazy`, { quick: false }),
    scenarios: ['skip'],
    lazy: true,
  }
}

// ---------------------------------------------------------------------------------------------
// The app, once per framework.

const loggedIn = `Logged in as ${username}`
/** 10 KB that no codec could shrink, for the chunked system's session. */
const tenKilobytes = Array.from({ length: 640 }, (_, i) =>
  ((i * 2654435761) >>> 0).toString(16).padStart(16, '0'),
).join('')
const anonymous = 'You are not logged in'

/** The body of a small form POST. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
      if (body.length > 16_384) req.destroy(new Error('form too large'))
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

function formName(body: string): string {
  return new URLSearchParams(body).get('username') ?? username
}

const textHeaders = { 'content-type': 'text/plain; charset=utf-8' }

function listen(server: Server, extra: () => Promise<void> = async () => {}): Promise<Running> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      resolve({
        port,
        async stop() {
          server.closeAllConnections()
          await new Promise<void>((done) => server.close(() => done()))
          await extra()
        },
      })
    })
  })
}

/** A tessera store for a mode, named after the run so it can be cleaned up. */
async function tesseraStore(mode: string, ctx: BuildContext, id: string): Promise<Store | null> {
  switch (mode) {
    case 'memory': {
      const { createMemoryStore } = await import('../../src/stores/memory.js')
      return createMemoryStore()
    }
    case 'sqlite':
    case 'sqlite, exclusive': {
      const { createSqliteStore } = await import('../../src/stores/sqlite.js')
      const dir = dataDir(ctx.runId)
      mkdirSync(dir, { recursive: true })
      return createSqliteStore({
        path: join(dir, `${id}-${process.pid}.db`),
        exclusive: mode === 'sqlite, exclusive',
      })
    }
    case 'redis': {
      const { createRedisStore } = await import('../../src/stores/redis.js')
      return createRedisStore({ url: redisUrl, prefix: redisPrefix(ctx.runId, id) })
    }
    case 'redis-cluster':
    case 'redis-cluster, wait 1': {
      const { createRedisStore } = await import('../../src/stores/redis.js')
      return createRedisStore({
        url: process.env.REDIS_CLUSTER_URL ?? '',
        prefix: redisPrefix(ctx.runId, id),
        ...(mode === 'redis-cluster' ? {} : { replicas: { wait: 1, timeout: 0.1 } }),
      })
    }
    case 'postgres': {
      const { createPostgresStore } = await import('../../src/stores/postgres.js')
      const store = createPostgresStore({
        connectionString: databaseUrl,
        schema: pgSchema(ctx.runId),
        table: id.replace(/-/g, '_'),
      })
      await store.migrate?.()
      return store
    }
    default:
      return null
  }
}

async function tesseraSessions(label: string, ctx: BuildContext, id: string) {
  const { createSessions } = await import('../../src/session/sessions.js')
  if (label === 'memory, expiring') {
    // Sessions that expire 2 s after their last use, swept every second.
    const { createMemoryStore } = await import('../../src/stores/memory.js')
    return createSessions<{ username?: string; notes?: string }>({
      secret,
      store: createMemoryStore({ sweepInterval: 1 }),
      idleTimeout: 2,
      pruneInterval: 1,
    })
  }
  const mode = label.replace(/, lazy$/, '')
  if (mode.startsWith('revocable cookie')) {
    const store = (await tesseraStore('redis', ctx, id))!
    return createSessions<{ username?: string }>({
      secret,
      revocation: { store, cache: mode.endsWith('cache 5 s') ? 5 : 0 },
    })
  }
  const store = await tesseraStore(mode, ctx, id)
  return createSessions<{ username?: string; notes?: string }>({
    secret,
    ...(store ? { store } : {}),
    ...(mode === 'native cookie, token' ? { token: true } : {}),
    ...(mode === 'native cookie, 10 KB chunked'
      ? { cookie: { chunks: { maxBytes: 16_384 } } }
      : {}),
    ...(mode === 'encrypted cookie' ? { encrypt: true } : {}),
    ...(mode === 'flask cookie' ? { format: 'flask' as const } : {}),
  })
}

/** Builds and starts a system on a free loopback port. */
export async function build(spec: SystemSpec, ctx: BuildContext): Promise<Running> {
  switch (spec.id) {
    case 'bare':
      return listen(createServer(bareApp()))
    case 'iron-node':
      return listen(createServer(await ironApp()))
    case 'express':
    case 'express-session-memory':
    case 'express-session-redis':
    case 'tessera-express-native':
    case 'tessera-express-memory':
    case 'tessera-express-redis':
      return expressApp(spec, ctx)
    case 'fastify':
    case 'fastify-session':
    case 'fastify-secure-session':
    case 'tessera-fastify-native':
    case 'tessera-fastify-encrypted':
    case 'tessera-fastify-memory':
      return fastifyApp(spec, ctx)
    case 'next':
    case 'tessera-next-native':
      return nextApp(spec)
  }
  if (spec.system === 'tessera' && spec.framework === 'node:http') {
    const sessions = await tesseraSessions(spec.mode, ctx, spec.id)
    const { withSession } = await import('../../src/adapters/node.js')
    const lazy = spec.lazy ?? false
    const notes = spec.mode.endsWith('10 KB chunked') ? tenKilobytes : null
    const revocable = spec.mode.startsWith('revocable')
    const handler = withSession(
      sessions,
      async (req, res, session) => {
        const { url, method } = req
        if (url === '/' && method === 'GET') {
          if (lazy) await session.load()
          const name = session.get('username')
          res.writeHead(200, textHeaders)
          res.end(name ? `Logged in as ${name}` : anonymous)
        } else if (url === '/login' && method === 'POST') {
          const name = formName(await readBody(req))
          if (lazy) await session.load()
          session.regenerate()
          session.set('username', name)
          if (notes) session.set('notes', notes)
          // Revocable cookie sessions bind the user, or there is nothing to revoke.
          if (revocable) session.setUser(name)
          res.writeHead(302, { location: '/' })
          res.end()
        } else if (url === '/ping') {
          res.writeHead(200, textHeaders)
          res.end('pong')
        } else {
          res.writeHead(404, textHeaders)
          res.end('Not found')
        }
      },
      { lazy },
    )
    return listen(createServer(handler), () => sessions.close())
  }
  throw new Error(`no builder for ${spec.id}`)
}

/** The ceiling: the same routes with no sessions at all. */
function bareApp(): RequestListener {
  return (req, res) => {
    const { url, method } = req
    if (url === '/' && method === 'GET') {
      res.writeHead(200, textHeaders)
      res.end(anonymous)
    } else if (url === '/login' && method === 'POST') {
      readBody(req).then(
        (body) => {
          formName(body)
          res.writeHead(302, { location: '/' })
          res.end()
        },
        () => res.destroy(),
      )
    } else if (url === '/ping') {
      res.writeHead(200, textHeaders)
      res.end('pong')
    } else {
      res.writeHead(404, textHeaders)
      res.end('Not found')
    }
  }
}

async function ironApp(): Promise<RequestListener> {
  const { getIronSession } = await import('iron-session')
  const options = { password: secret, cookieName: 'session', cookieOptions: { secure: false } }
  return (req, res) => {
    const { url, method } = req
    const run = async () => {
      if (url === '/' && method === 'GET') {
        const session = await getIronSession<{ username?: string }>(req, res, options)
        const name = session.username
        res.writeHead(200, textHeaders)
        res.end(name ? `Logged in as ${name}` : anonymous)
      } else if (url === '/login' && method === 'POST') {
        const name = formName(await readBody(req))
        const session = await getIronSession<{ username?: string }>(req, res, options)
        session.username = name
        await session.save()
        res.writeHead(302, { location: '/' })
        res.end()
      } else if (url === '/ping') {
        res.writeHead(200, textHeaders)
        res.end('pong')
      } else {
        res.writeHead(404, textHeaders)
        res.end('Not found')
      }
    }
    run().catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  }
}

async function expressApp(spec: SystemSpec, ctx: BuildContext): Promise<Running> {
  const { default: express } = await import('express')
  const app = express()
  const form = express.urlencoded({ extended: false })
  let cleanup: () => Promise<void> = async () => {}

  if (spec.system === 'tessera') {
    const sessions = await tesseraSessions(spec.mode, ctx, spec.id)
    const { session, sessionErrors } = await import('../../src/adapters/express.js')
    app.use(session(sessions))
    app.get('/', (req, res) => {
      const name = req.session.get('username')
      res.type('text/plain').send(name ? `Logged in as ${String(name)}` : anonymous)
    })
    app.post('/login', form, (req, res) => {
      req.session.regenerate()
      req.session.set('username', String(req.body?.username ?? username))
      res.redirect(302, '/')
    })
    app.get('/ping', (_req, res) => {
      res.type('text/plain').send('pong')
    })
    app.use(sessionErrors())
    cleanup = () => sessions.close()
  } else if (spec.system === 'express-session') {
    const { default: expressSession } = await importUntyped<{
      default: (options: object) => RequestHandler
    }>('express-session')
    let store: unknown
    if (spec.mode === 'redis') {
      const { createClient } = await import('redis')
      const { RedisStore } = await importUntyped<{ RedisStore: new (options: object) => unknown }>(
        'connect-redis',
      )
      const client = createClient({ url: redisUrl })
      await client.connect()
      store = new RedisStore({ client, prefix: redisPrefix(ctx.runId, spec.id) })
      cleanup = async () => {
        await client.close()
      }
    }
    app.use(
      expressSession({
        secret,
        resave: false,
        saveUninitialized: false,
        ...(store ? { store } : {}),
      }),
    )
    const sessionOf = (req: object) => (req as { session: ExpressSessionLike }).session
    app.get('/', (req, res) => {
      const name = sessionOf(req).username
      res.type('text/plain').send(name ? `Logged in as ${name}` : anonymous)
    })
    app.post('/login', form, (req, res, next) => {
      sessionOf(req).regenerate((error) => {
        if (error) return next(error)
        sessionOf(req).username = String(req.body?.username ?? username)
        res.redirect(302, '/')
      })
    })
    app.get('/ping', (_req, res) => {
      res.type('text/plain').send('pong')
    })
  } else {
    app.get('/', (_req, res) => {
      res.type('text/plain').send(anonymous)
    })
    app.post('/login', form, (req, res) => {
      String(req.body?.username ?? username)
      res.redirect(302, '/')
    })
    app.get('/ping', (_req, res) => {
      res.type('text/plain').send('pong')
    })
  }
  return listen(createServer(app), () => cleanup())
}

async function fastifyApp(spec: SystemSpec, ctx: BuildContext): Promise<Running> {
  const { default: Fastify } = await import('fastify')
  const app = Fastify({ logger: false })
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, new URLSearchParams(String(body))),
  )
  const nameOf = (body: unknown) =>
    body instanceof URLSearchParams ? (body.get('username') ?? username) : username
  let cleanup: () => Promise<void> = async () => {}

  if (spec.system === 'tessera') {
    const sessions = await tesseraSessions(spec.mode, ctx, spec.id)
    const { fastifySession } = await import('../../src/adapters/fastify.js')
    await app.register(fastifySession, { sessions })
    app.get('/', async (request, reply) => {
      const name = request.session.get('username')
      return reply.type('text/plain').send(name ? `Logged in as ${String(name)}` : anonymous)
    })
    app.post('/login', async (request, reply) => {
      request.session.regenerate()
      request.session.set('username', nameOf(request.body))
      return reply.redirect('/', 302)
    })
    cleanup = () => sessions.close()
  } else if (spec.system === '@fastify/session') {
    const { default: cookie } = await importUntyped<{ default: FastifyPluginCallback }>(
      '@fastify/cookie',
    )
    const { default: session } = await importUntyped<{
      default: FastifyPluginCallback<Record<string, unknown>>
    }>('@fastify/session')
    await app.register(cookie)
    await app.register(session, {
      secret,
      saveUninitialized: false,
      cookie: { secure: false },
    })
    app.get('/', async (request, reply) => {
      const name = peerSession(request).get('username')
      return reply.type('text/plain').send(name ? `Logged in as ${String(name)}` : anonymous)
    })
    app.post('/login', async (request, reply) => {
      await peerSession(request).regenerate?.()
      peerSession(request).set('username', nameOf(request.body))
      return reply.redirect('/', 302)
    })
  } else if (spec.system === '@fastify/secure-session') {
    const { default: secureSession } = await importUntyped<{
      default: FastifyPluginCallback<Record<string, unknown>>
    }>('@fastify/secure-session')
    await app.register(secureSession, {
      key: Buffer.from(secret).subarray(0, 32),
      cookieName: 'session',
      cookie: { path: '/', httpOnly: true },
    })
    app.get('/', async (request, reply) => {
      const name = peerSession(request).get('username')
      return reply.type('text/plain').send(name ? `Logged in as ${String(name)}` : anonymous)
    })
    app.post('/login', async (request, reply) => {
      peerSession(request).set('username', nameOf(request.body))
      return reply.redirect('/', 302)
    })
  } else {
    app.get('/', async (_request, reply) => reply.type('text/plain').send(anonymous))
    app.post('/login', async (request, reply) => {
      nameOf(request.body)
      return reply.redirect('/', 302)
    })
  }
  app.get('/ping', async (_request, reply) => reply.type('text/plain').send('pong'))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    async stop() {
      await app.close()
      await cleanup()
    },
  }
}

/**
 * bench/next-app through Next's own request handler, as `next start` serves it: the routes are
 * Route Handlers, with tessera's sessions or none (the app reads which from the environment).
 */
async function nextApp(spec: SystemSpec): Promise<Running> {
  const { nextAppDir, nextAppStale } = await import('./next-app.js')
  const stale = nextAppStale()
  if (stale)
    throw new Error(
      `${stale}: \`npm run bench\` builds it, or run \`npx next build bench/next-app\``,
    )
  // React and Next pick their production code from NODE_ENV, as under `next start`.
  Object.assign(process.env, {
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
    TESSERA_BENCH_NEXT: spec.system === 'tessera' ? 'native' : 'none',
    TESSERA_BENCH_SECRET: secret,
  })
  // Untyped: next's declarations make NODE_ENV read-only for the whole bench program.
  const { default: next } = await importUntyped<{ default: (options: object) => NextServerLike }>(
    'next',
  )
  const app = next({ dir: nextAppDir, dev: false, hostname: '127.0.0.1', quiet: true })
  await app.prepare()
  const handle = app.getRequestHandler()
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  return listen(server, () => app.close())
}

export { anonymous, loggedIn }

/**
 * Imports a peer without its types. express-session, connect-redis (through it) and the
 * Fastify session plugins each declare `request.session`, as tessera's adapters do; in one
 * type-checked program those declarations clash, so the bench keeps the peers' types out and
 * describes the little it uses of them below.
 */
function importUntyped<T>(name: string): Promise<T> {
  return import(name) as Promise<T>
}

/** What the bench uses of Next's programmatic server. */
interface NextServerLike {
  prepare(): Promise<void>
  getRequestHandler(): (req: IncomingMessage, res: ServerResponse) => Promise<void>
  close(): Promise<void>
}

interface ExpressSessionLike {
  username?: string
  regenerate(callback: (error?: unknown) => void): void
}

interface PeerFastifySession {
  get(key: string): unknown
  set(key: string, value: unknown): void
  regenerate?(): Promise<void>
}

function peerSession(request: object): PeerFastifySession {
  return (request as { session: PeerFastifySession }).session
}
