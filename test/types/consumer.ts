/**
 * An app's file that uses every entry point, as a user's project type-checks it against the
 * packed package (test/package.test.ts copies it into a CommonJS and an ESM project, strict,
 * `module: node16`, without skipLibCheck). In the repository it checks against the sources.
 */
import { createSessions, type Session } from 'tessera'
import * as express from 'tessera/adapters/express'
import * as fastify from 'tessera/adapters/fastify'
import { withSession } from 'tessera/adapters/fetch'
import * as hono from 'tessera/adapters/hono'
import * as koa from 'tessera/adapters/koa'
import * as node from 'tessera/adapters/node'
import { createFlaskCodec } from 'tessera/flask'
import { createConnectStore } from 'tessera/stores/connect'
import { createFileStore } from 'tessera/stores/file'
import { createMemoryStore } from 'tessera/stores/memory'
import { createPostgresStore } from 'tessera/stores/postgres'
import { createRedisStore } from 'tessera/stores/redis'
import { createSqliteStore } from 'tessera/stores/sqlite'
import { readSession } from 'tessera/testing'
import { openStore } from 'tessera/url'

const sessions = createSessions({ secret: 'x'.repeat(32), store: createMemoryStore() })

export const handler = withSession(sessions, (_request: Request, session: Session) => {
  session.set('visits', Number(session.get('visits') ?? 0) + 1)
  return new Response('ok')
})

export const loaded = [
  express,
  fastify,
  hono,
  koa,
  node,
  createFlaskCodec,
  createConnectStore,
  createFileStore,
  createPostgresStore,
  createRedisStore,
  createSqliteStore,
  readSession,
  openStore,
]
