/**
 * What every example server reads from the environment: the secret, where sessions live
 * (SQLite in `.data/sessions.db`, or the cookie with `SESSION_STORE=cookie`), host and port.
 * @module
 */

import { createSessions, type Sessions } from 'tessera'
import { createSqliteStore } from 'tessera/stores/sqlite'

/** The example's sessions, host and port; exits with the fix when SECRET_KEY is missing. */
export function fromEnvironment<T extends object>(): {
  sessions: Sessions<T>
  host: string
  port: number
} {
  const secret = process.env.SECRET_KEY
  if (!secret) {
    console.error('SECRET_KEY is not set: make one with `npx tessera secret` and export it')
    process.exit(1)
  }
  const sessions = createSessions<T>(
    process.env.SESSION_STORE === 'cookie'
      ? { secret }
      : { secret, store: createSqliteStore({ path: '.data/sessions.db' }) },
  )
  return { sessions, host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 5000) }
}
