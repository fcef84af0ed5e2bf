import { describe, expect, it } from 'vitest'
import { ConfigError, isSessionError, SessionConflictError } from '../errors.js'
import { createSessions } from '../session/sessions.js'
import { createTokenReader } from './token.js'

const secret = 'header-token-test-secret-of-32-bytes'

describe('createTokenReader', () => {
  it('reads the Bearer scheme case-insensitively, and the scheme alone as a request for one', () => {
    const reader = createTokenReader({})

    expect(reader.parse('Bearer abc.def')).toBe('abc.def')
    expect(reader.parse('bearer   abc ')).toBe('abc')
    expect(reader.parse('Bearer')).toBe('')
    expect(reader.parse(undefined)).toBeNull()
    expect(reader.parse('Basic dXNlcjpwYXNz')).toBeNull()
    expect(reader.parse('Bearerabc')).toBeNull()
  })

  it('reads a header of its own whole, and answers in it', () => {
    const reader = createTokenReader({ header: 'X-Session' })

    expect(reader.parse(' abc ')).toBe('abc')
    expect(reader.responseHeader).toBe('x-session')
    expect(reader.varyName).toBe('X-Session')
  })

  it('refuses a header that cannot carry a token', () => {
    for (const header of ['cookie', 'Set-Cookie', 'bad header', '']) {
      expect(() => createTokenReader({ header })).toThrow(ConfigError)
    }
    expect(() => createTokenReader({ responseHeader: 'authorization' })).toThrow(ConfigError)
  })
})

describe('sessions over a header token', () => {
  const sessions = createSessions<{ user?: string }>({ secret, token: true })

  async function token(user: string): Promise<string> {
    const session = sessions.open({ authorization: 'Bearer' })
    session.set('user', user)
    const result = await sessions.commit(session)
    expect(result.setCookie).toBeNull()
    return result.headers![0]![1]
  }

  it('takes the session from the token, as the cookie would carry it', async () => {
    const value = await token('ada')

    const session = sessions.open(new Headers({ authorization: `Bearer ${value}` }))

    expect(session.get('user')).toBe('ada')
  })

  it('throws SessionConflictError, a 400, for a request carrying the cookie and a token', async () => {
    const value = await token('ada')

    const open = () =>
      sessions.open({ cookie: `session=${value}`, authorization: `Bearer ${value}` })

    expect(open).toThrow(SessionConflictError)
    try {
      open()
    } catch (error) {
      expect(isSessionError(error, 'COOKIE_AND_TOKEN')).toBe(true)
      expect((error as SessionConflictError).status).toBe(400)
    }
  })

  it('treats another Authorization scheme as no token, so a cookie beside it is fine', async () => {
    const value = await token('ada')

    const session = sessions.open({ cookie: `session=${value}`, authorization: 'Basic eDp5' })

    expect(session.get('user')).toBe('ada')
  })

  it('gives an anonymous session for a token longer than any it issues', () => {
    const session = sessions.open({ authorization: `Bearer ${'a'.repeat(5000)}` })

    expect(session.toJSON()).toEqual({})
    expect(session.rejectedReason).toBe('too_large')
  })

  it('answers with the header empty when a token session ends', async () => {
    const value = await token('ada')

    const session = sessions.open({ authorization: `Bearer ${value}` })
    session.destroy()
    const result = await sessions.commit(session)

    expect(result).toMatchObject({ setCookie: null, headers: [['session-token', '']] })
  })

  it('varies on both the cookie and the token header, whichever came', async () => {
    const session = sessions.open(undefined)
    session.get('user')

    expect(sessions.varyOn).toBe('Cookie, Authorization')
    expect((await sessions.commit(session)).varyOn).toBe('Cookie, Authorization')
  })
})
