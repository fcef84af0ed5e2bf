import { parseSetCookie } from 'cookie'
import { describe, expect, it } from 'vitest'
import { ConfigError, CookieTooLargeError } from '../errors.js'
import type { Session } from '../session/session.js'
import { type CookieSessionsOptions, createSessions } from '../session/sessions.js'
import { createChunker } from './chunks.js'
import { createCookieWriter } from './cookie.js'

const secret = 'chunked-cookie-test-secret-32-bytes!'

function sessionsWith(options: Partial<CookieSessionsOptions> = {}) {
  return createSessions<Record<string, unknown>>({
    secret,
    cookie: { chunks: true },
    ...options,
  })
}

/** The lines a session holding `data` is written as. */
async function linesFor(sessions: ReturnType<typeof sessionsWith>, data: object, cookie = '') {
  const session = sessions.open(cookie)
  session.update(data)
  const result = await sessions.commit(session)
  return [result.setCookie, ...(result.headers ?? []).map(([, value]) => value)].filter(
    (line): line is string => line !== null,
  )
}

/** The `Cookie` header a browser sends back for these lines (deletions left out). */
function sent(lines: readonly string[]): string {
  return lines
    .map((line) => parseSetCookie(line))
    .filter((cookie) => cookie.maxAge !== 0)
    .map((cookie) => `${cookie.name}=${cookie.value}`)
    .join('; ')
}

function read(sessions: ReturnType<typeof sessionsWith>, cookie: string) {
  const session = sessions.open(cookie)
  return { data: session.toJSON(), reason: session.rejectedReason }
}

describe('chunked session cookies', () => {
  it('writes a session that fits one cookie as the plain cookie', async () => {
    const lines = await linesFor(sessionsWith(), { user: 'admin' })

    expect(lines.map((line) => parseSetCookie(line).name)).toEqual(['session'])
  })

  it('keeps every whole Set-Cookie line, attributes included, within 4096 bytes', async () => {
    const sessions = sessionsWith({
      cookie: {
        chunks: { maxBytes: 16_384 },
        domain: `${'sub.'.repeat(40)}example.com`,
        secure: true,
        path: '/a/long/path/for/the/session',
      },
    })

    const session = sessions.open('')
    session.permanent = true
    session.set('big', 'y'.repeat(9000))
    const result = await sessions.commit(session)
    const lines = [result.setCookie!, ...(result.headers ?? []).map(([, value]) => value)]

    expect(lines.length).toBeGreaterThan(2)
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096)
    expect(Buffer.byteLength(lines[0]!)).toBeGreaterThan(4000)
  })

  it('reads a tampered, missing, reordered or doubled chunk as an anonymous session', async () => {
    const sessions = sessionsWith()
    const lines = await linesFor(sessions, { big: 'z'.repeat(4500) })
    const [first, second] = sent(lines).split('; ') as [string, string]
    const flip = (pair: string) => `${pair.slice(0, -1)}${pair.endsWith('A') ? 'B' : 'A'}`
    const value = (pair: string) => pair.slice(pair.indexOf('=') + 1)

    expect(read(sessions, `${first}; ${second}`).data).toEqual({ big: 'z'.repeat(4500) })
    for (const cookie of [
      `${first}; ${flip(second)}`,
      first,
      second,
      `session.0=${value(second)}; session.1=${value(first)}`,
      `${first}; ${first}; ${second}`,
      `${first}; session.2=${value(second)}`,
    ]) {
      const { data, reason } = read(sessions, cookie)
      expect(data).toEqual({})
      expect(reason).not.toBeNull()
    }
  })

  it('deletes the plain cookie as the session grows into chunks, and the chunks as it shrinks', async () => {
    const sessions = sessionsWith()
    const small = sent(await linesFor(sessions, { a: 1 }))

    const grown = await linesFor(sessions, { big: 'q'.repeat(4500) }, small)
    const shrunk = await linesFor(sessions, { big: null }, sent(grown))

    const named = (lines: string[]) =>
      lines.map((line) => parseSetCookie(line)).map((c) => `${c.name}${c.maxAge === 0 ? '-' : '+'}`)
    expect(named(grown)).toEqual(['session.0+', 'session.1+', 'session-'])
    expect(named(shrunk)).toEqual(['session+', 'session.0-', 'session.1-'])
  })

  it('deletes every chunk the request held when the session is destroyed', async () => {
    const sessions = sessionsWith()
    const cookie = sent(await linesFor(sessions, { big: 'w'.repeat(4500) }))

    const session = sessions.open(`${cookie}; session.3=stale`)
    session.destroy()
    const result = await sessions.commit(session)

    const lines = [result.setCookie!, ...(result.headers ?? []).map(([, value]) => value)]
    expect(lines.map((line) => parseSetCookie(line)).map((c) => [c.name, c.maxAge])).toEqual([
      ['session.0', 0],
      ['session.1', 0],
      ['session.3', 0],
    ])
  })

  it("makes every line Secure, chunks and deletions alike, for an HTTPS request under secure: 'auto'", async () => {
    const sessions = sessionsWith({ cookie: { chunks: true, secure: 'auto' } })
    const lines = async (cookie: string, https: boolean, change: (s: Session) => void) => {
      const session = sessions.open(cookie, undefined, https)
      change(session)
      const result = await sessions.commit(session)
      return [result.setCookie!, ...(result.headers ?? []).map(([, value]) => value)]
    }
    const small = sent(await linesFor(sessions, { a: 1 }))
    const secureOf = (all: string[]) => all.map((line) => parseSetCookie(line).secure ?? false)

    const grown = await lines(small, true, (s) => s.set('big', 'q'.repeat(4500)))
    const plain = await lines(small, false, (s) => s.set('big', 'q'.repeat(4500)))
    const ended = await lines(sent(grown), true, (s) => s.destroy())

    expect(secureOf(grown)).toEqual([true, true, true])
    expect(secureOf(plain)).toEqual([false, false, false])
    expect(secureOf(ended)).toEqual([true, true])
  })

  it('round-trips a chunked session sealed as e2., and one read through Web Crypto', async () => {
    for (const options of [{ encrypt: true }, { encrypt: true, crypto: 'web' as const }]) {
      const sessions = sessionsWith(options)
      const big = 'z'.repeat(6000)
      const lines = await linesFor(sessions, { big })

      const session = sessions.open(sent(lines))
      await session.load()

      expect(lines[0]).toMatch(/^session\.0=e2\./)
      expect(lines.length).toBeGreaterThan(1)
      expect(session.get('big')).toBe(big)
    }
  })

  it('refuses at save time a session over the chunk count or byte budget', async () => {
    const sessions = sessionsWith()
    const fewer = sessionsWith({ cookie: { chunks: { maxChunks: 2, maxBytes: 16_384 } } })

    await expect(linesFor(sessions, { big: 'v'.repeat(7000) })).rejects.toThrow(CookieTooLargeError)
    await expect(linesFor(fewer, { big: 'v'.repeat(7000) })).rejects.toThrow(/2 cookies/)
  })

  it('reads a Cookie header whose session share passes maxBytes as no session, too_large', () => {
    const sessions = sessionsWith()
    const header = Array.from({ length: 3 }, (_, i) => `session.${i}=${'a'.repeat(3000)}`).join(
      '; ',
    )

    expect(read(sessions, header)).toEqual({ data: {}, reason: 'too_large' })
  })

  it('still refuses a large session with CookieTooLargeError when chunks are off', async () => {
    const sessions = createSessions({ secret })

    const session = sessions.open(undefined)
    session.set('big', 'v'.repeat(5000))

    await expect(sessions.commit(session)).rejects.toThrow(CookieTooLargeError)
  })

  it('refuses limits it cannot keep, and chunks where they cannot work', () => {
    const cookie = createCookieWriter()

    expect(() => createChunker(cookie, { maxChunks: 0 })).toThrow(ConfigError)
    expect(() => createChunker(cookie, { maxChunks: 31 })).toThrow(ConfigError)
    expect(() => createChunker(cookie, { maxBytes: 1000 })).toThrow(ConfigError)
    expect(() => sessionsWith({ format: 'flask' })).toThrow(/native format/)
  })
})
