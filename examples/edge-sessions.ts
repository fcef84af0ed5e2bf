/**
 * What the edge examples (workers, deno, bun) read from their environment: the secret, the
 * cookie format and, optionally, where the crypto runs. Cookie sessions only: the stores need
 * Node's clients.
 * @module
 */
import { type CryptoBackend, createSessions, type Sessions } from 'tessera'
import type { TutorialSession } from './hono/app.js'

/** The settings, as environment variables or Worker bindings. */
export interface EdgeSettings {
  /** The secret, e.g. from `npx tessera secret`. */
  SECRET_KEY?: string | undefined
  /** `native` (signed, the default), `encrypted` (sealed, AES-GCM) or `flask`. */
  COOKIE_FORMAT?: string | undefined
  /** `node` or `web`; unset, tessera picks `node:crypto` where the runtime has it. */
  CRYPTO?: string | undefined
}

/** Cookie sessions for the tutorial app; throws naming the fix when SECRET_KEY is missing. */
export function edgeSessions(settings: EdgeSettings): Sessions<TutorialSession> {
  const secret = settings.SECRET_KEY
  if (!secret) throw new Error('SECRET_KEY is not set: make one with `npx tessera secret`')
  const crypto = settings.CRYPTO ? { crypto: settings.CRYPTO as CryptoBackend } : {}
  switch (settings.COOKIE_FORMAT ?? 'native') {
    case 'native':
      return createSessions<TutorialSession>({ secret, ...crypto })
    case 'encrypted':
      return createSessions<TutorialSession>({ secret, encrypt: true, ...crypto })
    case 'flask':
      return createSessions<TutorialSession>({ secret, format: 'flask', ...crypto })
    default:
      throw new Error(
        `COOKIE_FORMAT must be native, encrypted or flask, not ${settings.COOKIE_FORMAT}`,
      )
  }
}
