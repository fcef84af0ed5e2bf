/**
 * The app's sessions, made on first use: Next imports every module while it builds, and the
 * secret belongs to the server that runs, not to the build. Sessions live in SQLite
 * (`SESSION_DB`, default `.data/sessions.db`), or in the cookie with `SESSION_STORE=cookie`.
 *
 * The proxy and the app are bundled apart, so each holds its own copy of this module: a store
 * both can reach (SQLite, Redis, PostgreSQL) works; an in-memory store would not be shared.
 * @module
 */
import { createSessions, type Sessions } from 'tessera'
import { createSqliteStore } from 'tessera/stores/sqlite'

/** What the app keeps in a session. */
export type TutorialSession = { username?: string }

let made: Sessions<TutorialSession> | undefined

/** The app's sessions. Throws, saying how to fix it, when SECRET_KEY is not set. */
export function sessions(): Sessions<TutorialSession> {
  if (made) return made
  const secret = process.env.SECRET_KEY
  if (!secret) throw new Error('SECRET_KEY is not set: make one with `npx tessera secret`')
  made = createSessions<TutorialSession>(
    process.env.SESSION_STORE === 'cookie'
      ? { secret }
      : {
          secret,
          store: createSqliteStore({ path: process.env.SESSION_DB ?? '.data/sessions.db' }),
        },
  )
  return made
}
