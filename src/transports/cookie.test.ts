import { parseSetCookie } from 'cookie'
import { describe, expect, it } from 'vitest'
import { ConfigError, CookieTooLargeError } from '../errors.js'
import { createCookieWriter, readCookie } from './cookie.js'

describe('readCookie', () => {
  it('finds every value of the name, trimmed and unquoted', () => {
    const header = ' session = a1 ; other=x; session="b2";;session=; '

    expect(readCookie(header, 'session')).toEqual(['a1', 'b2', ''])
  })

  it('matches the name exactly and case-sensitively, without decoding it', () => {
    const header = 'Session=a; sessionx=b; %73ession=c; xsession=d'

    expect(readCookie(header, 'session')).toEqual([])
  })

  it('ignores a name-less pair and still reads the cookie after it', () => {
    expect(readCookie('=x; session=abc', 'session')).toEqual(['abc'])
    expect(readCookie('=session=bad; session=good', 'session')).toEqual(['good'])
  })

  it('returns nothing for a missing or empty header', () => {
    expect(readCookie(undefined, 'session')).toEqual([])
    expect(readCookie('', 'session')).toEqual([])
    expect(readCookie('novalue; =x; ;', 'session')).toEqual([])
  })
})

describe('createCookieWriter', () => {
  it("writes Flask's defaults plus SameSite=Lax", () => {
    const writer = createCookieWriter()

    const parsed = parseSetCookie(writer.set('abc'))

    expect(parsed).toMatchObject({ name: 'session', value: 'abc', httpOnly: true, path: '/' })
    expect(parsed.sameSite).toBe('lax')
    expect(parsed.expires).toBeUndefined()
    expect(parsed.secure).toBeUndefined()
  })

  it('writes Expires for a persistent cookie and no Max-Age', () => {
    const header = createCookieWriter().set('v', Date.UTC(2026, 0, 2, 1))

    expect(header).toContain('; Expires=Fri, 02 Jan 2026 01:00:00 GMT')
    expect(header).not.toContain('Max-Age')
  })

  it('deletes with the same attributes, an Expires in 1970 and Max-Age=0', () => {
    const writer = createCookieWriter({
      name: 'sid',
      domain: 'example.com',
      path: '/app',
      secure: true,
    })

    const parsed = parseSetCookie(writer.remove())

    expect(parsed).toMatchObject({
      name: 'sid',
      value: '',
      domain: 'example.com',
      path: '/app',
      secure: true,
      maxAge: 0,
    })
    expect(parsed.expires?.getTime()).toBe(0)
  })

  it('makes a Partitioned cookie Secure, as Flask does', () => {
    const header = createCookieWriter({ partitioned: true }).set('v')

    expect(header).toContain('; Secure')
    expect(header).toContain('; Partitioned')
  })

  it('refuses a cookie over 4096 bytes, naming its size', () => {
    const writer = createCookieWriter()

    expect(() => writer.set('x'.repeat(4088))).not.toThrow()
    expect(() => writer.set('x'.repeat(4089))).toThrow(CookieTooLargeError)
    expect(() => writer.set('x'.repeat(4089))).toThrow(/4097 bytes/)
  })

  it('refuses __Host- names that are not Secure, on another path or with a Domain', () => {
    expect(() => createCookieWriter({ name: '__Host-sid' })).toThrow(ConfigError)
    expect(() => createCookieWriter({ name: '__Host-sid', secure: true, path: '/a' })).toThrow(
      ConfigError,
    )
    expect(() =>
      createCookieWriter({ name: '__Host-sid', secure: true, domain: 'example.com' }),
    ).toThrow(ConfigError)
    expect(() => createCookieWriter({ name: '__Host-sid', secure: true })).not.toThrow()
  })

  it('refuses SameSite=None without Secure, and a name that is not a token', () => {
    expect(() => createCookieWriter({ sameSite: 'None' })).toThrow(/must be Secure/)
    expect(() => createCookieWriter({ name: 'bad name' })).toThrow(ConfigError)
  })
})
