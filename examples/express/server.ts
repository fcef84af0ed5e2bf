/**
 * Starts the Express example on http://127.0.0.1:5000 (PORT and HOST override):
 * `SECRET_KEY=$(npx tessera secret) npx tsx examples/express/server.ts`. Sessions live in
 * SQLite (`.data/sessions.db`), or in the cookie itself with `SESSION_STORE=cookie`.
 * @module
 */
import { fromEnvironment } from '../environment.js'
import { createApp, type TutorialSession } from './app.js'

const { sessions, host, port } = fromEnvironment<TutorialSession>()

createApp(sessions).listen(port, host, () => {
  console.log(`Express example on http://${host}:${port} (sessions: ${sessions.description})`)
})
