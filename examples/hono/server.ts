/**
 * Starts the Hono example on Node at http://127.0.0.1:5000 (PORT and HOST override):
 * `SECRET_KEY=$(npx tessera secret) npx tsx examples/hono/server.ts`. Sessions live in
 * SQLite (`.data/sessions.db`), or in the cookie itself with `SESSION_STORE=cookie`.
 * @module
 */
import { serve } from '@hono/node-server'
import { fromEnvironment } from '../environment.js'
import { createApp, type TutorialSession } from './app.js'

const { sessions, host: hostname, port } = fromEnvironment<TutorialSession>()

serve({ fetch: createApp(sessions).fetch, hostname, port }, () => {
  console.log(`Hono example on http://${hostname}:${port} (sessions: ${sessions.description})`)
})
