/**
 * The demo's settings, from the environment: the secret, where sessions live, where it listens.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createSessions, type Sessions } from '../src/core/sessions.js'
import { ConfigError } from '../src/errors.js'
import { openStore } from '../src/stores/url.js'

/** The demo's session shape. */
export interface DemoSession extends Record<string, unknown> {
  username?: string
}

export interface DemoConfig {
  host: string
  port: number
  production: boolean
  dataDir: string
  sessions: Sessions<DemoSession>
  /** Shown in the footer: which mode and store serve the session. */
  storeLabel: string
  /** A line to print at start-up about the secret, if any. */
  notice: string | null
}

/** Reads the demo's configuration from `env`. Throws `ConfigError` with the fix. */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<DemoConfig> {
  const production = env.NODE_ENV === 'production'
  const dataDir = resolve(env.DATA_DIR ?? '.data')
  let notice: string | null = null
  let secret: string | null | undefined = env.SECRET_KEY
  if (!secret) {
    if (production) {
      throw new ConfigError(
        'SECRET_KEY is not set; in production the demo needs one. Make one with ' +
          '`npx tessera secret` and start with SECRET_KEY=<it> NODE_ENV=production npm start',
      )
    }
    const file = join(dataDir, 'secret-key')
    secret = readSecret(file)
    if (!secret) {
      mkdirSync(dataDir, { recursive: true })
      secret = randomBytes(32).toString('base64url')
      writeFileSync(file, `${secret}\n`, { mode: 0o600 })
    }
    notice = `no SECRET_KEY set: using a development key kept in ${file}`
  }
  const fallbacks = (env.SECRET_KEY_FALLBACKS ?? '').split(',').filter(Boolean)
  const secrets = [secret, ...fallbacks]
  const storeUrl = env.SESSION_STORE ?? `sqlite:${join(dataDir, 'sessions.db')}`
  const cookieName = env.SESSION_COOKIE_NAME ?? 'session'
  let sessions: Sessions<DemoSession>
  let storeLabel: string
  if (storeUrl === 'cookie') {
    const format = env.SESSION_FORMAT ?? 'native'
    if (format === 'flask') {
      sessions = createSessions({ secret: secrets, format: 'flask', cookie: { name: cookieName } })
    } else if (format === 'native' || format === 'encrypted') {
      sessions = createSessions({
        secret: secrets,
        encrypt: format === 'encrypted',
        cookie: { name: cookieName },
      })
    } else {
      throw new ConfigError(`SESSION_FORMAT must be native, encrypted or flask, not "${format}"`)
    }
    storeLabel = sessions.description
  } else {
    const store = await openStore(storeUrl)
    sessions = createSessions({ secret: secrets, store, cookie: { name: cookieName } })
    storeLabel = store.name
  }
  return {
    host: env.HOST ?? '127.0.0.1',
    port: Number(env.PORT ?? 5000),
    production,
    dataDir,
    sessions,
    storeLabel,
    notice,
  }
}

function readSecret(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null
  } catch {
    return null
  }
}
