/**
 * An app that declares its session's shape, type-checked against the packed package by
 * test/package.test.ts: every `@ts-expect-error` below must be an error, or tsc reports the
 * directive as unused. Not part of the repository's own program (tsconfig.json excludes it),
 * whose tests use sessions of every shape.
 */
import { Hono } from 'hono'
import { createSessions, type Session } from 'tessera'
import * as express from 'tessera/adapters/express'
import type * as fastify from 'tessera/adapters/fastify'
import * as fetch from 'tessera/adapters/fetch'
import * as hono from 'tessera/adapters/hono'
import * as koa from 'tessera/adapters/koa'
import * as node from 'tessera/adapters/node'

interface AppSession {
  username?: string
}

declare module 'tessera/adapters/express' {
  interface AppSession {
    username?: string
  }
}
declare module 'tessera/adapters/koa' {
  interface AppSession {
    username?: string
  }
}
declare module 'tessera/adapters/fastify' {
  interface AppSession {
    username?: string
  }
}
declare module 'tessera/adapters/hono' {
  interface AppSession {
    username?: string
  }
}

const secret = 'x'.repeat(32)
const sessions = createSessions<AppSession>({ secret })
const other = createSessions<{ cart?: string[] }>({ secret })
const wider = createSessions<{ username: string }>({ secret })
const untyped = createSessions({ secret })

// Express: `req.session` is typed by the declaration, and only matching sessions are accepted.
export const expressOk = express.session(sessions)
// @ts-expect-error sessions of another shape
express.session(other)
// @ts-expect-error sessions typed with no shape
express.session(untyped)
// @ts-expect-error sessions where `username` is required, not optional
express.session(wider)
export function expressHandler(req: import('express').Request): string | undefined {
  // @ts-expect-error a key AppSession does not declare
  req.session.set('nope', 1)
  // @ts-expect-error a value of the wrong type
  req.session.set('username', 1)
  req.session.set('username', 'admin')
  return req.session.get('username')
}

// Koa
export const koaOk = koa.session(sessions)
// @ts-expect-error sessions of another shape
koa.session(other)
export function koaHandler(ctx: import('koa').Context): string | undefined {
  // @ts-expect-error a key AppSession does not declare
  ctx.session.set('nope', 1)
  return ctx.session.get('username')
}

// Fastify
export const fastifyOk: fastify.FastifySessionOptions = { sessions }
// @ts-expect-error sessions of another shape
export const fastifyOther: fastify.FastifySessionOptions = { sessions: other }
export function fastifyHandler(request: import('fastify').FastifyRequest): string | undefined {
  // @ts-expect-error a key AppSession does not declare
  request.session.set('nope', 1)
  return request.session.get('username')
}

// Hono: the app's environment carries the declared shape.
const app = new Hono<hono.SessionEnv>()
app.use(hono.session(sessions))
// @ts-expect-error sessions of another shape
hono.session(other)
app.get('/', (c) => {
  // @ts-expect-error a key AppSession does not declare
  c.get('session').set('nope', 1)
  return c.text(c.get('session').get('username') ?? 'anonymous')
})

// Fetch and node:http: the handler's session parameter declares the shape.
export const fetchOk = fetch.withSession(sessions, (_request, session: Session<AppSession>) => {
  // @ts-expect-error a key AppSession does not declare
  session.set('nope', 1)
  return new Response(session.get('username') ?? 'anonymous')
})
const fetchHandler = (_request: Request, session: Session<AppSession>) =>
  new Response(session.get('username'))
// @ts-expect-error sessions of another shape than the handler's
fetch.withSession(other, fetchHandler)
export const nodeOk = node.withSession(sessions, (_req, res, session: Session<AppSession>) => {
  // @ts-expect-error a key AppSession does not declare
  session.set('nope', 1)
  res.end(session.get('username'))
})
const nodeHandler = (
  _req: unknown,
  res: { end(body?: string): void },
  session: Session<AppSession>,
) => res.end(session.get('username'))
// @ts-expect-error sessions where `username` is required, not optional
node.withSession(wider, nodeHandler)
