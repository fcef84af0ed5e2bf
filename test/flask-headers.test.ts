/**
 * The Set-Cookie and Vary headers real Flask 3.1.3 sent, in `header_cases` of the shared
 * vectors, reproduced byte for byte by tessera's flask format.
 */
import { readFileSync } from 'node:fs'
import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { createFlaskCodec } from '../src/codecs/flask/index.js'
import type { Session } from '../src/session/session.js'
import { createSessions } from '../src/session/sessions.js'

interface HeaderCase {
  name: string
  secret_key: string
  now: number
  config: {
    PERMANENT_SESSION_LIFETIME: number
    APPLICATION_ROOT: string
    SESSION_COOKIE_NAME: string
    SESSION_COOKIE_DOMAIN: string | null
    SESSION_COOKIE_PATH: string | null
    SESSION_COOKIE_HTTPONLY: boolean
    SESSION_COOKIE_SECURE: boolean
    SESSION_COOKIE_PARTITIONED: boolean
    SESSION_COOKIE_SAMESITE: string | null
    SESSION_REFRESH_EACH_REQUEST: boolean
  }
  request_cookie: string | null
  response: { set_cookie: string[]; vary: string | null }
}

const vectors = JSON.parse(
  readFileSync(new URL('./vectors/flask-session-cookies.json', import.meta.url), 'utf8'),
) as { header_cases: HeaderCase[] }

/** What each case's Flask view did with the session. */
const views: Record<string, (session: Session) => void> = {
  default_attributes: (s) => s.set('user', 'u1'),
  all_attributes: (s) => s.set('user', 'u1'),
  partitioned_forces_secure: (s) => s.set('user', 'u1'),
  application_root_path: (s) => s.set('user', 'u1'),
  permanent_expires: (s) => {
    s.set('user', 'u1')
    s.permanent = true
  },
  cleared_session_deletes_cookie: (s) => s.clear(),
  no_cookie_clear_empty: (s) => s.clear(),
  read_only_non_permanent: (s) => s.get('user'),
  read_only_permanent_refresh: (s) => s.get('user'),
  read_only_permanent_no_refresh: (s) => s.get('user'),
  invalid_cookie_read_only: (s) => s.get('user'),
  not_accessed: () => {},
  not_accessed_permanent_refresh: () => {},
}

/**
 * Where tessera decides differently from Flask, on purpose: a request whose handler never
 * touches the session costs nothing, so an untouched permanent session is not re-issued.
 */
const differences: Record<string, HeaderCase['response']> = {
  not_accessed_permanent_refresh: { set_cookie: [], vary: null },
}

describe('the flask format against the headers real Flask sent', () => {
  for (const c of vectors.header_cases) {
    it(`matches Flask in ${c.name}`, async () => {
      const cfg = c.config
      const sameSite = cfg.SESSION_COOKIE_SAMESITE
      const sessions = createSessions({
        secret: 'an-unused-strong-secret-32-bytes-long',
        codec: createFlaskCodec({ secret: c.secret_key }),
        maxAge: cfg.PERMANENT_SESSION_LIFETIME,
        refresh: cfg.SESSION_REFRESH_EACH_REQUEST,
        now: () => c.now * 1000,
        cookie: {
          name: cfg.SESSION_COOKIE_NAME,
          path: cfg.SESSION_COOKIE_PATH ?? cfg.APPLICATION_ROOT,
          httpOnly: cfg.SESSION_COOKIE_HTTPONLY,
          secure: cfg.SESSION_COOKIE_SECURE,
          partitioned: cfg.SESSION_COOKIE_PARTITIONED,
          sameSite: sameSite
            ? (`${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}` as 'Lax')
            : false,
          ...(cfg.SESSION_COOKIE_DOMAIN ? { domain: cfg.SESSION_COOKIE_DOMAIN } : {}),
        },
      })
      const cookieHeader =
        c.request_cookie === null ? undefined : `${cfg.SESSION_COOKIE_NAME}=${c.request_cookie}`
      const session = sessions.open(cookieHeader)

      views[c.name]!(session)
      const result = await sessions.commit(session)

      const expected = differences[c.name] ?? c.response
      expect(result.setCookie === null ? [] : [result.setCookie]).toEqual(expected.set_cookie)
      expect(result.vary ? 'Cookie' : null).toBe(expected.vary)
    })
  }
})

describe('the flask format through createSessions', () => {
  it('writes an unchanged Flask float back with its spelling', async () => {
    const secret = 'test-secret-key'
    const vectors2 = JSON.parse(
      readFileSync(new URL('./vectors/flask-session-cookies.json', import.meta.url), 'utf8'),
    ) as { cases: { name: string; cookie: string; verify_at: number; payload_json: string }[] }
    const floats = vectors2.cases.find((c) => c.name === 'floats')!
    const sessions = createSessions({
      secret: 'an-unused-strong-secret-32-bytes-long',
      codec: createFlaskCodec({ secret }),
      now: () => floats.verify_at * 1000,
    })
    const session = sessions.open(`session=${floats.cookie}`)

    session.set('z', 'new')
    const { setCookie } = await sessions.commit(session)
    const value = setCookie!.slice('session='.length, setCookie!.indexOf(';'))
    const reread = createFlaskCodec({ secret }).decode(value, {
      now: floats.verify_at * 1000,
      maxAge: 60,
    })

    expect(reread.ok).toBe(true)
    expect(floats.payload_json).toContain('"b":1.0')
    const compressed = value.startsWith('.')
    const body = Buffer.from(value.split('.')[compressed ? 1 : 0]!, 'base64url')
    const json = (compressed ? inflateSync(body) : body).toString()
    expect(json).toContain('"b":1.0')
    expect(json).toContain('"e":1e+16')
  })
})
