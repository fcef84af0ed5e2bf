/**
 * An Express app on tessera whose project also has `@types/express-session` (installed, so
 * TypeScript loads it by itself, and imported by connect-redis's declarations): the app of the
 * connect-store bridge. express-session's declarations give `req.session` express-session's
 * type too; TypeScript keeps the first declaration it reads. The reference below makes it
 * tessera's, whatever order the imports are sorted in (docs/migrating-from-express-session.md).
 * Type-checked against the packed package by test/package.test.ts.
 */
/// <reference types="tessera/adapters/express" />
import { RedisStore } from 'connect-redis'
import express from 'express'
import { createClient } from 'redis'
import { createSessions } from 'tessera'
import { session } from 'tessera/adapters/express'
import { createConnectStore } from 'tessera/stores/connect'

declare module 'tessera/adapters/express' {
  interface AppSession {
    username?: string
  }
}

const client = createClient()
const sessions = createSessions<{ username?: string }>({
  secret: 'x'.repeat(32),
  store: createConnectStore(new RedisStore({ client })),
  pruneInterval: 0,
})

const app = express()
app.use(session(sessions))
app.post('/login', (req, res) => {
  req.session.regenerate()
  req.session.set('username', 'admin')
  // @ts-expect-error a key AppSession does not declare: req.session is tessera's, not express-session's
  req.session.set('nope', 1)
  res.send(req.session.get('username'))
})

export { app }
