import { describe, expect, it } from 'vitest'
import { createCookieWriter } from './cookie.js'

describe("createCookieWriter with secure: 'auto'", () => {
  it('writes Secure for an HTTPS request only, on a cookie and on its deletion', () => {
    const cookie = createCookieWriter({ secure: 'auto' })

    expect(cookie.auto).toBe(true)
    expect(cookie.set('v', undefined, true)).toBe(
      'session=v; Secure; HttpOnly; Path=/; SameSite=Lax',
    )
    expect(cookie.set('v', undefined, false)).toBe('session=v; HttpOnly; Path=/; SameSite=Lax')
    expect(cookie.remove(true)).toContain('; Secure;')
    expect(cookie.remove(false)).not.toContain('Secure')
  })

  it('ignores the request’s protocol when secure is a boolean', () => {
    expect(createCookieWriter({ secure: true }).set('v', undefined, false)).toContain('; Secure')
    expect(createCookieWriter({}).set('v', undefined, true)).not.toContain('Secure')
  })

  it('is always Secure when partitioned, which implies it', () => {
    const cookie = createCookieWriter({ secure: 'auto', partitioned: true })

    expect(cookie.auto).toBe(false)
    expect(cookie.set('v', undefined, false)).toContain('; Secure')
  })

  it('refuses what a browser accepts only when Secure: SameSite=None, __Host-, __Secure-', () => {
    expect(() => createCookieWriter({ secure: 'auto', sameSite: 'None' })).toThrow(
      /SameSite=None cookie must be Secure \('auto' leaves Secure off over plain HTTP\)/,
    )
    expect(() => createCookieWriter({ secure: 'auto', name: '__Host-s' })).toThrow(/'auto'/)
    expect(() => createCookieWriter({ secure: 'auto', name: '__Secure-s' })).toThrow(/'auto'/)
  })

  it('refuses a value other than true, false or auto', () => {
    expect(() => createCookieWriter({ secure: 'yes' as never })).toThrow(
      /secure must be true, false or 'auto', not "yes"/,
    )
  })
})
