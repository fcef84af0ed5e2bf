/**
 * Starts the Koa example on http://127.0.0.1:5000 (PORT and HOST override):
 * `SECRET_KEY=$(npx tessera secret) npx tsx examples/koa/server.ts`. Sessions live in
 * SQLite (`.data/sessions.db`), or in the cookie itself with `SESSION_STORE=cookie`.
 * @module
 */
import { createSessions } from '../../src/core/sessions.js'
import { createSqliteStore } from '../../src/stores/sqlite.js'
import { createApp, type TutorialSession } from './app.js'

const secret = process.env.SECRET_KEY
if (!secret) {
  console.error('SECRET_KEY is not set: make one with `npx tessera secret` and export it')
  process.exit(1)
}
const sessions = createSessions<TutorialSession>(
  process.env.SESSION_STORE === 'cookie'
    ? { secret }
    : { secret, store: createSqliteStore({ path: '.data/sessions.db' }) },
)
const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 5000)

createApp(sessions).listen(port, host, () => {
  console.log(`Koa example on http://${host}:${port} (sessions: ${sessions.description})`)
})
