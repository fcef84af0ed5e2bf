import { describe, expect, it } from 'vitest'
import { compileTrust, forwardedHttps } from '../../src/adapters/shared.js'

describe('forwardedHttps', () => {
  const proxies = compileTrust(['10.0.0.0/8'])

  it('believes X-Forwarded-Proto only from a trusted peer', () => {
    expect(forwardedHttps(false, '10.0.0.2', '192.0.2.1', 'https', proxies)).toBe(true)
    expect(forwardedHttps(false, '192.0.2.9', '192.0.2.1', 'https', proxies)).toBe(false)
    expect(forwardedHttps(false, '10.0.0.2', '192.0.2.1', 'https', null)).toBe(false)
  })

  it('keeps the connection’s own protocol without the header', () => {
    expect(forwardedHttps(true, '10.0.0.2', null, null, proxies)).toBe(true)
    expect(forwardedHttps(false, '10.0.0.2', null, undefined, proxies)).toBe(false)
  })

  it('reads the entry of the outermost trusted proxy when each proxy appends one', () => {
    // client → 10.0.0.1 (TLS ends here, says https) → 10.0.0.2 (says http) → app
    const chain = ['192.0.2.1, 10.0.0.1', 'https, http'] as const

    expect(forwardedHttps(false, '10.0.0.2', ...chain, proxies)).toBe(true)
    expect(forwardedHttps(false, '10.0.0.2', ...chain, compileTrust(1))).toBe(false)
  })

  it('reads the one entry proxies that overwrite the header leave, however many are trusted', () => {
    expect(forwardedHttps(false, '10.0.0.2', '192.0.2.1, 10.0.0.1', 'HTTPS', proxies)).toBe(true)
  })

  it('refuses an entry the client wrote before the trusted proxies', () => {
    // The client sent "https" itself; the one trusted proxy appended what it saw: http.
    expect(forwardedHttps(false, '10.0.0.2', '192.0.2.1', 'https, http', compileTrust(1))).toBe(
      false,
    )
  })
})
