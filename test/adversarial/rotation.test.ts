/**
 * Security test plan, section 4.8: key rotation (K-01, K-02). The plan names the cookie modes;
 * server-side ids are signed with the same key list, so they are checked too.
 */
import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { keyId } from '../../src/primitives/keys.js'
import type { TestApp } from './app.js'
import {
  closeTracked,
  cookieValue,
  cookieWith,
  expectAnon,
  expectUser,
  forModes,
  installInvariants,
  login,
  trackedApp,
  whoami,
} from './harness.js'
import { nativeSigner, signId } from './signer.js'

installInvariants()

async function withApps(apps: Promise<TestApp>[], fn: (apps: TestApp[]) => Promise<void>) {
  const made = await Promise.all(apps)
  try {
    await fn(made)
  } finally {
    for (const app of made) await closeTracked(app)
  }
}

forModes(['CK'], (mode) => {
  it('K-01 keys [k2, k1]: a k1 cookie is accepted and re-issued under k2 on its next response (read or write); new sessions use k2', async () => {
    const [k1, k2] = [randomBytes(32), randomBytes(32)]
    await withApps(
      [
        trackedApp(mode, { secrets: [k1] }),
        trackedApp(mode, { secrets: [k2, k1] }),
        trackedApp(mode, { secrets: [k2] }),
      ],
      async ([old, rotated, onlyNew]) => {
        const c1 = await login(old!, 'alice')
        const read = await whoami(rotated!, c1)
        expectUser(read, 'alice', 'a k1 cookie at [k2, k1]')
        expect(read.setCookies.length, 're-issued on a read').toBe(1)
        const c2 = read.cookie()
        expectUser(
          await whoami(onlyNew!, c2),
          'alice',
          'the re-issued cookie verifies under k2 alone',
        )
        expectAnon(await whoami(onlyNew!, c1), 'the k1 cookie at [k2]')
        if (mode.name !== 'flask') expect(cookieValue(c2).split('.')[1]).toBe(keyId(k2))
        const write = await rotated!.request('/s/set?k=a&v=1', { method: 'POST', cookie: c1 })
        expectUser(await whoami(onlyNew!, write.cookie()), 'alice', 're-issued on a write')
        const fresh = await login(rotated!, 'bob')
        expectUser(await whoami(onlyNew!, fresh), 'bob', 'a new session at [k2, k1]')
        expectAnon(await whoami(old!, fresh), 'a new session is not signed with k1')
      },
    )
  })

  it('K-02 keys [k3, k2]: a k1 cookie and a cookie naming an unknown key id → ANON', async () => {
    const [k1, k2, k3] = [randomBytes(32), randomBytes(32), randomBytes(32)]
    await withApps(
      [trackedApp(mode, { secrets: [k1] }), trackedApp(mode, { secrets: [k3, k2] })],
      async ([old, current]) => {
        const c1 = await login(old!, 'alice')
        expectAnon(await whoami(current!, c1), 'a k1 cookie')
        if (mode.name !== 'flask') {
          // Sealed correctly, but under a key id no configured key has.
          const unknown = nativeSigner(
            k3,
            current!.sessions.cookieName,
            mode.name === 'encrypted',
          ).seal({ json: '{"user":"alice"}', kid: 'AAAAAAAA' }, current!.clock.now())
          expectAnon(await whoami(current!, cookieWith(current!, unknown)), 'an unknown key id')
        }
      },
    )
  })
})

forModes(['SRV'], (mode) => {
  it('K-01 (server-side ids) keys [k2, k1]: an id signed with k1 is accepted and re-signed with k2', async () => {
    const [k1, k2] = [randomBytes(32), randomBytes(32)]
    await withApps([trackedApp(mode, { secrets: [k2, k1] })], async ([app]) => {
      const name = app!.sessions.cookieName
      const id = cookieValue(await login(app!, 'alice')).slice(0, 43)
      const res = await whoami(app!, cookieWith(app!, signId(k1, name, id)))
      expectUser(res, 'alice', 'an id signed with k1')
      expect(cookieValue(res.cookie())).toBe(signId(k2, name, id))
    })
  })

  it('K-02 (server-side ids) keys [k3, k2]: an id signed with k1 → ANON, no store lookup', async () => {
    const [k1, k2, k3] = [randomBytes(32), randomBytes(32), randomBytes(32)]
    await withApps([trackedApp(mode, { secrets: [k3, k2] })], async ([app]) => {
      const name = app!.sessions.cookieName
      const id = cookieValue(await login(app!, 'alice')).slice(0, 43)
      const res = await whoami(app!, cookieWith(app!, signId(k1, name, id)))
      expectAnon(res, 'an id signed with k1')
      expect(res.calls).toEqual([])
    })
  })
})
