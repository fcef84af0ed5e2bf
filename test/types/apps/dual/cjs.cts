/** The CommonJS half of the project in esm.mts. */
import { createSessions } from 'tessera'
import * as express from 'tessera/adapters/express'
import * as fastify from 'tessera/adapters/fastify'
import * as koa from 'tessera/adapters/koa'

declare module 'tessera/adapters/express' {
  interface AppSession {
    username?: string
  }
}

const sessions = createSessions<{ username?: string }>({ secret: 'x'.repeat(32) })

export const loaded = [express.session(sessions), fastify.fastifySession, koa.session(sessions)]
