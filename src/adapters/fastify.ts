/**
 * The Fastify 5 plugin: `app.register(fastifySession, { sessions })` decorates every request
 * with `request.session`. The session is opened in `onRequest`, so later hooks (auth in
 * `preHandler`) can read it, and saved in `onSend`, where Fastify still lets a hook set headers
 * and wait for a store. Like `fastify-plugin`, it is not encapsulated: one registration serves
 * every route of the app.
 *
 * The client IP recorded with a session is `request.ip`, under Fastify's `trustProxy`. A store
 * outage reaches Fastify's error handling as an error with `status` 503 and a `Retry-After`
 * header, which Fastify's default error handler answers; the plugin leaves the app's root error
 * handler alone, so an app's own `setErrorHandler` overrides it (check
 * `isSessionError(error, 'STORE_UNAVAILABLE')` from `tessera`).
 * @module
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import { type CsrfOptions, checkCsrf, csrfHeader } from '../features/csrf.js'
import type { Session } from '../session/session.js'
import type { CommitResult } from '../session/sessions.js'
import {
  type AdapterOptions,
  attachSave,
  type DeclaredSessions,
  type DeclaredShape,
  formField,
  isStoreDown,
  openSessionNow,
  refuseOwnTrust,
  storeUnavailable,
  varyCookie,
} from './shared.js'

/**
 * The shape of `request.session`'s data, app-wide. Declare it once and every `get`/`set` is
 * typed by it, and `fastifySession` accepts only sessions made with it
 * (`createSessions<AppSession>`). While it declares no key, `request.session` takes any key and
 * the plugin any sessions.
 * @example
 * declare module 'tessera/adapters/fastify' {
 *   interface AppSession { username?: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: empty until the app declares its keys (declaration merging)
export interface AppSession {}

/** `request.session`'s type: a `Session` of the declared `AppSession`, or of any shape. */
export type FastifySession = Session<DeclaredShape<AppSession>>

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's session, set by tessera's `fastifySession` plugin. */
    session: FastifySession
  }
}

/** Options of `fastifySession`. */
export interface FastifySessionOptions extends AdapterOptions {
  /**
   * The app's session system, from `createSessions`: of the declared `AppSession`'s shape, or
   * of any shape while the app declares none.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a session's shape is invariant, so only `any` admits sessions of every shape (the plugin's options are not generic)
  sessions: DeclaredSessions<AppSession, any>
  /**
   * Set the app's root error handler to answer a session store outage with tessera's JSON body
   * rather than Fastify's error body, passing every other error on to Fastify's. Not needed for
   * the 503 and its `Retry-After`, and it replaces a root error handler the app set before
   * registering the plugin. @default false
   */
  errorHandler?: boolean
}

const plugin: FastifyPluginCallback<FastifySessionOptions> = (fastify, options, done) => {
  const { sessions, errorHandler = false, ...adapterOptions } = options
  try {
    refuseOwnTrust(
      adapterOptions,
      "give Fastify's own `trustProxy` option: `Fastify({ trustProxy: 1 })`",
    )
  } catch (error) {
    done(error as Error)
    return
  }
  // Requests whose save failed in `onSend`: Fastify sends the error's answer through `onSend`
  // again, where the session must not be saved a second time.
  const failed = new WeakSet<FastifyRequest>()
  // Until a save has failed, no request is looked up in `failed`: a WeakSet lookup gives the
  // request object an identity hash, on every request.
  let anyFailed = false

  /** Sets `request.session` and what its `save()` does. */
  function ready(request: FastifyRequest, reply: FastifyReply, session: FastifySession): void {
    attachSave(session, async () => apply(reply, await sessions.commit(session)))
    request.session = session
  }

  fastify.decorateRequest('session')

  // Callback hooks, not async ones: a request whose session needs no store read (a cookie
  // session, an anonymous visitor) then passes both hooks without a promise.
  fastify.addHook('onRequest', (request, reply, next) => {
    let opened: FastifySession | Promise<FastifySession>
    try {
      // Who made the request is read only for a session it creates (see the node adapter).
      const meta =
        sessions.mode === 'cookie'
          ? undefined
          : () => ({
              userAgent: request.headers['user-agent'] ?? null,
              ip: request.ip ?? null,
            })
      // `request.protocol` is Fastify's answer under its `trustProxy`.
      opened = openSessionNow(
        sessions,
        request.headers,
        meta,
        adapterOptions,
        sessions.secureAuto ? () => request.protocol === 'https' : undefined,
      )
    } catch (error) {
      next(error as Error)
      return
    }
    if (opened instanceof Promise) {
      opened.then((session) => {
        ready(request, reply, session)
        next()
      }, next)
      return
    }
    ready(request, reply, opened)
    next()
  })

  fastify.addHook('onSend', (request, reply, payload, next) => {
    // Absent when `onRequest` failed before the session was opened.
    const opened = request.session as FastifySession | undefined
    if (!opened || (anyFailed && failed.has(request))) return next(null, payload)
    const result = sessions.commitSync(opened)
    if (result !== null) {
      apply(reply, result)
      return next(null, payload)
    }
    sessions.commit(opened).then(
      (committed) => {
        apply(reply, committed)
        next(null, payload)
      },
      (error: unknown) => {
        anyFailed = true
        failed.add(request)
        // Fastify keeps a reply's headers on an error (CORS ones, say), but a request that
        // failed must change no cookie.
        reply.removeHeader('set-cookie')
        next(error as Error)
      },
    )
  })

  if (errorHandler) {
    fastify.setErrorHandler((error, _request, reply) => {
      // Thrown on, an error reaches the next handler up: Fastify's default one.
      if (!isStoreDown(error)) throw error
      // Fastify keeps a reply's headers on an error (CORS ones, say), but a request that failed
      // must change no cookie.
      reply.removeHeader('set-cookie')
      return reply
        .code(storeUnavailable.status)
        .headers(storeUnavailable.headers)
        .send(storeUnavailable.body)
    })
  }
  done()
}

/**
 * Writes a commit's headers to the reply: `applyCommit`'s rules, without a sink object and its
 * three closures for every request.
 */
function apply(reply: FastifyReply, result: CommitResult): void {
  if (result.vary) {
    const vary = reply.getHeader('vary')
    reply.header('vary', varyCookie(vary === undefined ? null : String(vary), result.varyOn))
  }
  const extra = result.headers
  if (result.setCookie === null && extra === undefined) return
  // Fastify appends repeated set-cookie headers rather than replacing them; any other header
  // (a token's) is set.
  if (result.setCookie !== null) reply.header('set-cookie', result.setCookie)
  if (extra !== undefined) for (const [name, value] of extra) reply.header(name, value)
  // A cached response that carries a session would hand that session to the next client.
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
}

/**
 * The Fastify plugin: opens each request's session as `request.session` and saves it as the
 * response is sent. A session store outage becomes a 503 with `Retry-After`.
 * @example
 * await app.register(fastifySession, { sessions })
 * app.get('/', async (request) => request.session.get('username') ?? 'anonymous')
 */
export const fastifySession: FastifyPluginCallback<FastifySessionOptions> = Object.assign(plugin, {
  // What `fastify-plugin` sets: no encapsulation, so the hooks and decorator reach every route.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tessera',
  [Symbol.for('plugin-meta')]: { name: 'tessera', fastify: '5.x' },
})

/**
 * CSRF protection as a `preHandler` hook: POST, PUT, PATCH and DELETE must carry the session's
 * token, in the `X-CSRF-Token` header or, without that header, the `_csrf` field of a parsed
 * body; otherwise the answer
 * is 403 with the reason. Put `csrfInput(request.session)` in every form.
 * @example
 * app.addHook('preHandler', csrf({ exempt: ['/webhooks/*'] }))
 */
export function csrf(
  options: CsrfOptions = {},
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const header = request.headers[csrfHeader]
    const token = typeof header === 'string' ? header : formField(request.body)
    const path = request.url.split('?')[0] ?? '/'
    const failure = checkCsrf(request.session, { method: request.method, path, token }, options)
    if (failure) await reply.code(failure.status).type('text/plain').send(failure.message)
  }
}

export type {
  AdapterOptions,
  BoundShape,
  DeclaredSessions,
  DeclaredShape,
  ProxyOptions,
  TrustProxy,
} from './shared.js'
