import { describe, expect, it } from 'vitest'
import { createSessions } from '../session/sessions.js'
import { checkCsrf, csrfInput, csrfToken, verifyCsrfToken } from './csrf.js'

const sessions = createSessions({ secret: 'a-test-secret-that-is-32-bytes-long!' })

function session() {
  return sessions.open(undefined)
}

describe('CSRF tokens', () => {
  it('keeps one random token per session', () => {
    const s = session()

    const token = csrfToken(s)

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(csrfToken(s)).toBe(token)
    expect(csrfToken(session())).not.toBe(token)
  })

  it('puts the token in a hidden form field', () => {
    const s = session()

    expect(csrfInput(s)).toBe(`<input type="hidden" name="_csrf" value="${csrfToken(s)}">`)
  })

  it('verifies only the exact token', () => {
    const s = session()
    const token = csrfToken(s)

    expect(verifyCsrfToken(s, token)).toBe(true)
    expect(verifyCsrfToken(s, `${token}x`)).toBe(false)
    expect(verifyCsrfToken(s, token.toLowerCase())).toBe(false)
    expect(verifyCsrfToken(s, '')).toBe(false)
    expect(verifyCsrfToken(s, undefined)).toBe(false)
    expect(verifyCsrfToken(session(), token)).toBe(false)
  })

  it('rotates the token when the session is regenerated', () => {
    const s = session()
    const before = csrfToken(s)

    s.regenerate()

    expect(verifyCsrfToken(s, before)).toBe(false)
    expect(csrfToken(s)).not.toBe(before)
  })

  it('checks unsafe methods only, with a clear 403 for a missing or wrong token', () => {
    const s = session()
    const token = csrfToken(s)

    const get = checkCsrf(s, { method: 'GET', path: '/', token: null })
    const missing = checkCsrf(s, { method: 'POST', path: '/login', token: null })
    const wrong = checkCsrf(s, { method: 'DELETE', path: '/x', token: 'nope' })
    const right = checkCsrf(s, { method: 'post', path: '/login', token })

    expect(get).toBeNull()
    expect(missing).toMatchObject({ status: 403, message: expect.stringMatching(/missing/) })
    expect(wrong).toMatchObject({ status: 403, message: expect.stringMatching(/does not match/) })
    expect(right).toBeNull()
  })

  it('lets exempt routes through', () => {
    const s = session()

    expect(
      checkCsrf(
        s,
        { method: 'POST', path: '/webhooks/stripe', token: null },
        { exempt: ['/webhooks/*'] },
      ),
    ).toBeNull()
    expect(
      checkCsrf(s, { method: 'POST', path: '/api', token: null }, { exempt: (p) => p === '/api' }),
    ).toBeNull()
    expect(
      checkCsrf(s, { method: 'POST', path: '/apix', token: null }, { exempt: ['/api'] }),
    ).not.toBeNull()
  })
})
