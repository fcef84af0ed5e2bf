/**
 * The demo's settings, from the environment: the secret, where sessions live, where it listens,
 * and whether the session inspector is on.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  ConfigError,
  type CookieCodec,
  createNativeCodec,
  createSessions,
  type RevocationOptions,
  type Sessions,
  type Store,
} from 'tessera'
import { createFlaskCodec } from 'tessera/flask'
import { openStore, parseStoreUrl } from 'tessera/url'
import { z } from 'zod'

/**
 * The demo's session shape, checked on every load: a Flask app sharing the secret may write any
 * JSON under these keys, and a session of another shape is refused as a whole (an empty session
 * and a `rejected` event with reason `invalid_data`) rather than reaching a page that expects
 * text. Other keys pass as they are: the features' own (`_csrf`, `_flashes`) check theirs.
 */
export const demoSchema = z.looseObject({
  username: z.string().optional(),
  /** Short notes the user typed, to watch the session grow (and, in a cookie, hit its limit). */
  notes: z.array(z.string()).optional(),
})

/** The demo's session shape, as the pages read it. */
export type DemoSession = z.infer<typeof demoSchema>

/**
 * How long a cookie session is accepted after its last write: tessera's default, stated here
 * because the inspector checks cookie values with the same codec and lifetime as the sessions.
 */
export const cookieMaxAge = 31 * 86_400

/** The codec behind cookie sessions, for the inspector to tell a verified value from a forged one. */
export interface CookieCheck {
  codec: CookieCodec
  maxAge: number
}

export interface DemoConfig {
  host: string
  port: number
  production: boolean
  dataDir: string
  sessions: Sessions<DemoSession>
  /** `SECRET_KEY` and its fallbacks, newest first: they also sign the login form's token. */
  secrets: string[]
  /** Whether cookies go over HTTPS only (`SESSION_COOKIE_SECURE`). */
  secureCookies: boolean
  /** Shown in the footer: which mode and store serve the session. */
  storeLabel: string
  /** Whether `/inspect` shows what the session holds: on unless NODE_ENV=production. */
  inspector: boolean
  /** A line to print at start-up about the secret, if any. */
  notice: string | null
  /** Cookie sessions: their codec, for the inspector. Null with a store. */
  cookieCheck: CookieCheck | null
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
    const file = developmentSecretFile(dataDir)
    secret = developmentSecret(dataDir)
    notice = `no SECRET_KEY set: using a development key kept in ${file}`
  }
  const fallbacks = (env.SECRET_KEY_FALLBACKS ?? '').split(',').filter(Boolean)
  const secrets = [secret, ...fallbacks]
  const storeUrl = env.SESSION_STORE ?? `sqlite:${join(dataDir, 'sessions.db')}`
  const cookie = {
    name: env.SESSION_COOKIE_NAME ?? 'session',
    secure: onOff('SESSION_COOKIE_SECURE', env.SESSION_COOKIE_SECURE, production),
  }
  let sessions: Sessions<DemoSession>
  let storeLabel: string
  let cookieCheck: CookieCheck | null = null
  const revocationUrl = env.SESSION_REVOCATION
  if (revocationUrl && storeUrl !== 'cookie') {
    throw new ConfigError(
      'SESSION_REVOCATION is for cookie sessions (SESSION_STORE=cookie); sessions in a store ' +
        'are revocable already',
    )
  }
  if (storeUrl === 'cookie') {
    const format = env.SESSION_FORMAT ?? 'native'
    let codec: CookieCodec
    if (format === 'flask') {
      codec = createFlaskCodec({ secret, fallbacks })
    } else if (format === 'native' || format === 'encrypted') {
      codec = createNativeCodec({
        secrets,
        encrypt: format === 'encrypted',
        name: cookie.name,
      })
    } else {
      throw new ConfigError(`SESSION_FORMAT must be native, encrypted or flask, not "${format}"`)
    }
    // Revocable cookie sessions: the session stays in the cookie, a generation per user in
    // the store named by SESSION_REVOCATION, so "log out everywhere" works.
    const revocation: RevocationOptions | undefined = revocationUrl
      ? {
          store: await openDemoStore(revocationUrl, env),
          cache: seconds('SESSION_REVOCATION_CACHE', env.SESSION_REVOCATION_CACHE, 0),
        }
      : undefined
    sessions = createSessions<DemoSession>({
      secret: secrets,
      codec,
      maxAge: cookieMaxAge,
      cookie,
      schema: demoSchema,
      ...(revocation && { revocation }),
    })
    cookieCheck = { codec, maxAge: cookieMaxAge }
    storeLabel = revocation
      ? `${sessions.description}, revocable in ${revocation.store.name}`
      : sessions.description
  } else {
    const store = await openDemoStore(storeUrl, env)
    sessions = demoStoreSessions(secrets, store, cookie)
    storeLabel = store.name
  }
  return {
    host: env.HOST ?? '127.0.0.1',
    port: Number(env.PORT ?? 5000),
    production,
    dataDir,
    sessions,
    secrets,
    secureCookies: cookie.secure,
    storeLabel,
    inspector: onOff('INSPECTOR', env.INSPECTOR, !production),
    notice,
    cookieCheck,
  }
}

/** The demo's sessions over `store`: as `loadConfig` makes them for a `SESSION_STORE` URL. */
export function demoStoreSessions(
  secrets: string[],
  store: Store,
  cookie: { name?: string; secure?: boolean } = {},
): Sessions<DemoSession> {
  return createSessions<DemoSession>({ secret: secrets, store, cookie, schema: demoSchema })
}

/**
 * `SESSION_STORE` as a store. For Redis (`redis://`, `redis-cluster://`…), `REDIS_PREFIX` sets
 * the key prefix (default `tessera:`) and `REDIS_WAIT_REPLICAS=N` acknowledges a write only once
 * N replicas have it (waiting at most 0.1 s; see the store's `replicas` option).
 */
async function openDemoStore(url: string, env: NodeJS.ProcessEnv): Promise<Store> {
  const wait = env.REDIS_WAIT_REPLICAS ? Number(env.REDIS_WAIT_REPLICAS) : undefined
  if ((env.REDIS_PREFIX || wait) && parseStoreUrl(url).kind === 'redis') {
    const { createRedisStore } = await import('tessera/stores/redis')
    return createRedisStore({
      url,
      ...(env.REDIS_PREFIX ? { prefix: env.REDIS_PREFIX } : {}),
      ...(wait === undefined ? {} : { replicas: { wait, timeout: 0.1 } }),
    })
  }
  return openStore(url)
}

/**
 * A setting given as `on` or `off`, `fallback` when unset. `INSPECTOR` is on except under
 * NODE_ENV=production; `SESSION_COOKIE_SECURE` (the cookie goes over HTTPS only) is on only
 * there, since the development site is plain http://127.0.0.1.
 */
function onOff(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback
  if (value === 'on') return true
  if (value === 'off') return false
  throw new ConfigError(`${name} must be on or off, not "${value}"`)
}

function seconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback
  const parsed = Number(value)
  if (!(Number.isFinite(parsed) && parsed >= 0)) {
    throw new ConfigError(`${name} must be a number of seconds, 0 or more, not "${value}"`)
  }
  return parsed
}

function developmentSecretFile(dataDir: string): string {
  return join(dataDir, 'secret-key')
}

/**
 * The development secret kept in `<dataDir>/secret-key`, made on first use. The cluster demo
 * calls it before starting its instances, so they all find the same key.
 */
export function developmentSecret(dataDir: string): string {
  const file = developmentSecretFile(dataDir)
  const existing = readSecret(file)
  if (existing) return existing
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  return secret
}

function readSecret(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null
  } catch {
    return null
  }
}
