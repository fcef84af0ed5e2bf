import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { createFormCsrf, type FormCsrfOptions } from './form-csrf.js'

const secret = 'form-csrf-test-secret--of-32-bytes!!'
const older = 'an-older-secret-still-accepted-32b!!'

/** A form CSRF helper on a clock the test moves. */
function make(options: Partial<FormCsrfOptions> = {}) {
  const clock = { now: 1_800_000_000_000 }
  const csrf = createFormCsrf({ secret, now: () => clock.now, ...options })
  return { csrf, clock }
}

/** `name=value` of a Set-Cookie header: what the browser sends back. */
const sent = (setCookie: string) => setCookie.slice(0, setCookie.indexOf(';'))

describe('createFormCsrf', () => {
  it('accepts the token with the cookie it was issued with', () => {
    const { csrf } = make()

    const { token, setCookie } = csrf.issue(undefined)

    expect(csrf.verify(sent(setCookie), token)).toBe(true)
    expect(csrf.verify(`other=1; ${sent(setCookie)}; session=x`, token)).toBe(true)
  })

  it('sets a short-lived HttpOnly, SameSite=Lax cookie for the whole site, never in the token', () => {
    const { csrf, clock } = make()

    const { token, setCookie } = csrf.issue(undefined)

    const value = sent(setCookie).slice('form-csrf='.length)
    expect(setCookie).toMatch(/^form-csrf=[A-Za-z0-9_-]{43}; /)
    expect(setCookie).toContain(`Expires=${new Date(clock.now + 3600_000).toUTCString()}`)
    expect(setCookie).toContain('; HttpOnly; Path=/; SameSite=Lax')
    expect(setCookie).not.toContain('Secure')
    expect(token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/)
    expect(token).not.toContain(value)
  })

  it('names the cookie __Host-form-csrf and marks it Secure when secure', () => {
    const { csrf } = make({ secure: true })

    const { token, setCookie } = csrf.issue(undefined)

    expect(csrf.cookieName).toBe('__Host-form-csrf')
    expect(setCookie).toMatch(/^__Host-form-csrf=[^;]+; Expires=[^;]+; Secure; HttpOnly; Path=\//)
    expect(csrf.verify(sent(setCookie), token)).toBe(true)
    expect(csrf.verify(sent(setCookie).replace('__Host-', ''), token)).toBe(false)
  })

  it('takes a cookie name of its own, prefixed __Host- when secure, and refuses an invalid one', () => {
    const plain = make({ name: 'login-csrf' })
    const secure = make({ name: 'login-csrf', secure: true })

    const { token, setCookie } = plain.csrf.issue(undefined)

    expect(plain.csrf.cookieName).toBe('login-csrf')
    expect(secure.csrf.cookieName).toBe('__Host-login-csrf')
    expect(setCookie).toMatch(/^login-csrf=/)
    expect(plain.csrf.verify(sent(setCookie), token)).toBe(true)
    expect(plain.csrf.verify(sent(setCookie).replace('login-', 'form-'), token)).toBe(false)
    expect(() => make({ name: 'bad name' })).toThrow(ConfigError)
    expect(() => make({ name: '__Host-x' })).toThrow(/must be Secure/)
  })

  it('refuses a missing or garbled token, and a token without its cookie', () => {
    const { csrf } = make()
    const { token, setCookie } = csrf.issue(undefined)
    const cookie = sent(setCookie)
    const [issued, mac] = token.split('.') as [string, string]
    const flipped = `${issued}.${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`

    for (const bad of [null, undefined, '', 'x', mac, `${Number(issued) + 1}.${mac}`, flipped]) {
      expect(csrf.verify(cookie, bad), String(bad)).toBe(false)
    }
    expect(csrf.verify(undefined, token)).toBe(false)
    expect(csrf.verify('form-csrf=', token)).toBe(false)
    expect(csrf.verify('session=abc', token)).toBe(false)
  })

  it("refuses another browser's token: each browser gets its own cookie value", () => {
    const { csrf } = make()
    const mine = csrf.issue(undefined)
    const theirs = csrf.issue(undefined)

    expect(sent(mine.setCookie)).not.toBe(sent(theirs.setCookie))
    expect(csrf.verify(sent(mine.setCookie), theirs.token)).toBe(false)
    expect(csrf.verify(sent(theirs.setCookie), mine.token)).toBe(false)
  })

  it('keeps the cookie a browser already holds, so two open login forms both stay valid', () => {
    const { csrf, clock } = make()
    const first = csrf.issue(undefined)
    clock.now += 60_000

    const second = csrf.issue(sent(first.setCookie))

    expect(sent(second.setCookie)).toBe(sent(first.setCookie))
    expect(csrf.verify(sent(second.setCookie), first.token)).toBe(true)
    expect(csrf.verify(sent(second.setCookie), second.token)).toBe(true)
  })

  it('makes a new cookie value in place of one that is not its own shape', () => {
    const { csrf } = make()

    const { token, setCookie } = csrf.issue('form-csrf=short')

    expect(sent(setCookie)).not.toBe('form-csrf=short')
    expect(csrf.verify(sent(setCookie), token)).toBe(true)
    expect(csrf.verify('form-csrf=short', token)).toBe(false)
  })

  it('refuses a token older than its lifetime, or issued in the future beyond clock skew', () => {
    const { csrf, clock } = make({ lifetime: 600 })
    const { token, setCookie } = csrf.issue(undefined)
    const cookie = sent(setCookie)

    clock.now += 600_000
    expect(csrf.verify(cookie, token), 'at its lifetime').toBe(true)
    clock.now += 1000
    expect(csrf.verify(cookie, token), 'past its lifetime').toBe(false)
    clock.now -= 601_000 + 61_000
    expect(csrf.verify(cookie, token), 'issued 61 s in the future').toBe(false)
    clock.now += 2000
    expect(csrf.verify(cookie, token), 'issued 59 s in the future').toBe(true)
  })

  it('accepts a form signed before a secret rotation, and nothing signed with another secret', () => {
    const before = make({ secret: older })
    const { token, setCookie } = before.csrf.issue(undefined)

    const rotated = make({ secret: [secret, older] })
    const stranger = make({ secret })

    expect(rotated.csrf.verify(sent(setCookie), token)).toBe(true)
    expect(stranger.csrf.verify(sent(setCookie), token)).toBe(false)
  })

  it('accepts the token when the browser also sends another cookie of the same name', () => {
    const { csrf } = make()
    const { token, setCookie } = csrf.issue(undefined)
    const planted = `form-csrf=${'A'.repeat(43)}`

    expect(csrf.verify(`${planted}; ${sent(setCookie)}`, token)).toBe(true)
    expect(csrf.verify(planted, token)).toBe(false)
  })

  it('deletes its cookie with the same attributes', () => {
    const { csrf } = make()

    expect(csrf.remove()).toBe(
      'form-csrf=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/; SameSite=Lax',
    )
  })

  it('refuses a short secret at start-up, saying how to make one', () => {
    expect(() => createFormCsrf({ secret: 'short' })).toThrow(ConfigError)
    expect(() => createFormCsrf({ secret: 'short' })).toThrow(/npx tessera secret/)
  })
})
