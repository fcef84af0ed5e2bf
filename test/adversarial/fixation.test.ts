/**
 * Security test plan, section 4.4: session fixation (F-01, F-02). Server-side modes: a cookie
 * session carries no server-side id to fix.
 */
import { createHash, randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import type { TestApp } from './app.js'
import {
  cookieValue,
  cookieWith,
  expectAnon,
  expectUser,
  forModes,
  installInvariants,
  login,
  useApp,
  whoami,
} from './harness.js'
import { signId } from './signer.js'

installInvariants()

const hash = (id: string) => createHash('sha256').update(id).digest('base64url')

/** Every store key the app wrote or looked up since `from`. */
function keysTouched(app: TestApp, from: number): Set<string> {
  return new Set(app.calls.slice(from).flatMap((c) => (c.key === null ? [] : [c.key])))
}

forModes(['SRV'], (mode) => {
  const h = useApp(mode)

  it('F-01 a planted well-formed id never issued: the victim browses and logs in; the issued id differs, the store never holds hash(planted), the planted id stays ANON', async () => {
    const app = h.app
    const name = app.sessions.cookieName
    const forged = `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`
    // Also one that verifies (as if the attacker could sign): strict session management must
    // still refuse to adopt it.
    const plantedId = randomBytes(32).toString('base64url')
    const signed = signId(app.secrets[0]!, name, plantedId)
    for (const [what, value, id] of [
      ['forged MAC', forged, forged.slice(0, 43)],
      ['valid MAC, never issued', signed, plantedId],
    ] as const) {
      const from = app.calls.length
      const planted = cookieWith(app, value)
      expectAnon(await whoami(app, planted), `${what}: browsing`)
      const browse = await app.request('/s/set?k=cart&json=1&v=[1]', {
        method: 'POST',
        cookie: planted,
      })
      expect(browse.status).toBe(200)
      const anonymous = browse.cookie()
      expect(
        cookieValue(anonymous).slice(0, 43),
        `${what}: a fresh id for the first write`,
      ).not.toBe(id)
      const loggedIn = await login(app, 'victim', { cookie: anonymous })
      expect(cookieValue(loggedIn).slice(0, 43), `${what}: a fresh id at login`).not.toBe(id)
      expectUser(await whoami(app, loggedIn), 'victim')
      const direct = await login(app, 'victim', { cookie: planted })
      expect(
        cookieValue(direct).slice(0, 43),
        `${what}: login straight from the planted cookie`,
      ).not.toBe(id)
      if (what === 'forged MAC') {
        expect(keysTouched(app, from).has(hash(id)), 'a forged id is never even looked up').toBe(
          false,
        )
      }
      expect(
        app.calls.slice(from).filter((c) => c.key === hash(id) && c.op !== 'get'),
        `${what}: no write under hash(planted)`,
      ).toEqual([])
      expect(await app.spy!.get(hash(id)), `${what}: the store holds no hash(planted)`).toBeNull()
      expectAnon(await whoami(app, planted), `${what}: the planted id afterwards`)
    }
  })

  it('F-02 an attacker plants his own valid anonymous session P; the victim logs in: new id, P → ANON and its record deleted, the attacker sees nothing of the victim', async () => {
    const app = h.app
    const made = await app.request('/s/set?k=note&v=planted-by-attacker', { method: 'POST' })
    const p = made.cookie()
    const keyP = app.keyOfCookie(p)!
    // The victim's browser now sends P.
    const victim = await login(app, 'victim', { cookie: p })
    expect(cookieValue(victim).slice(0, 43)).not.toBe(cookieValue(p).slice(0, 43))
    expectUser(await whoami(app, victim), 'victim')
    expect(await app.spy!.get(keyP), "P's record is deleted").toBeNull()
    // The attacker, through P.
    expectAnon(await whoami(app, p), 'P after the victim logged in')
    for (const k of ['user', 'note', 'authAt']) {
      expect(
        (await app.request(`/s/get?k=${k}`, { cookie: p })).json(),
        `attacker reads ${k}`,
      ).toEqual({ value: null })
    }
    const protectedPage = await app.request('/protected', { cookie: p })
    expect(protectedPage.status).toBe(303)
  })
})
