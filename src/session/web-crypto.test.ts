import { describe, expect, it } from 'vitest'
import { withSession } from '../adapters/fetch.js'
import { createFlaskCodec } from '../codecs/flask/codec.js'
import { createNativeCodec } from '../codecs/native.js'
import { noMeta } from '../codecs/types.js'
import { ConfigError, SessionNotLoadedError } from '../errors.js'
import { createMemoryStore } from '../stores/memory.js'
import { createSessions } from './sessions.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const t0 = Date.UTC(2026, 0, 1)
const now = () => t0

describe("createSessions with crypto: 'web'", () => {
  for (const [format, options, codec] of [
    ['native', {}, createNativeCodec({ secrets: secret })],
    ['encrypted', { encrypt: true }, createNativeCodec({ secrets: secret, encrypt: true })],
    ['flask', { format: 'flask' }, createFlaskCodec({ secret })],
  ] as const) {
    it(`loads a ${format} cookie written by node:crypto only once awaited`, async () => {
      const sessions = createSessions({ secret, crypto: 'web', now, ...options })
      const value = codec.encode({ username: 'ada' }, noMeta, t0)
      const session = sessions.open(`session=${value}`)

      expect(() => session.get('username')).toThrow(SessionNotLoadedError)
      await session.load()

      expect(session.get('username')).toBe('ada')
    })

    it(`commits a ${format} cookie that node:crypto reads, asynchronously only`, async () => {
      const sessions = createSessions({ secret, crypto: 'web', now, ...options })
      const session = sessions.open(undefined)
      session.set('username', 'grace')

      expect(sessions.commitSync(session)).toBeNull()
      const { setCookie } = await sessions.commit(session)

      const value = /^session=([^;]+)/.exec(setCookie ?? '')?.[1] ?? ''
      expect(codec.decode(value, { now: t0, maxAge: 3600 })).toMatchObject({
        ok: true,
        data: { username: 'grace' },
      })
    })
  }

  it('reads the session before a Fetch handler runs', async () => {
    const sessions = createSessions({ secret, crypto: 'web', now })
    const value = createNativeCodec({ secrets: secret }).encode({ n: 1 }, noMeta, t0)
    const handler = withSession(sessions, (_request, session) => {
      session.set('n', (session.get('n') as number) + 1)
      return new Response(String(session.get('n')))
    })

    const response = await handler(
      new Request('http://x/', { headers: { cookie: `session=${value}` } }),
    )

    expect(await response.text()).toBe('2')
    expect(response.headers.get('set-cookie')).toMatch(/^session=s1\./)
  })

  it('revokes a Web Crypto cookie with destroyByUser, as a node:crypto one', async () => {
    const sessions = createSessions({
      secret,
      crypto: 'web',
      revocation: { store: createMemoryStore() },
    })
    const login = sessions.open(undefined)
    login.setUser('ada')
    login.set('username', 'ada')
    const cookie = (await sessions.commit(login)).setCookie?.split(';')[0] ?? ''
    const before = sessions.open(cookie)
    await before.load()

    await sessions.destroyByUser('ada')
    const after = sessions.open(cookie)
    await after.load()

    expect(before.get('username')).toBe('ada')
    expect(after.get('username')).toBeUndefined()
    expect(after.rejectedReason).toBe('revoked')
  })

  it('refuses a crypto backend it does not know, and crypto with a store', () => {
    expect(() => createSessions({ secret, crypto: 'wasm' as 'web' })).toThrow(ConfigError)
    expect(() =>
      createSessions({ secret, store: createMemoryStore(), crypto: 'web' } as never),
    ).toThrow(/crypto is for cookie sessions/)
  })
})
