/**
 * Security test plan, section 4.3: expiry and replay.
 *
 * The fake clock drives tessera's expiry checks in every mode. The memory, file and SQLite
 * stores also take it, so they forget a record on the fake clock too; Redis and PostgreSQL
 * forget records on real time (TTL, `Date.now()` in SQL), so for them the case asserts that
 * tessera refuses the record, not that the store already dropped it.
 */
import { describe, expect, it } from 'vitest'
import { noMeta } from '../../src/codecs/types.js'
import { type Mode, plan, type Result, type TestApp } from './app.js'
import {
  cookieValue,
  cookieWith,
  expectAnon,
  expectUser,
  forModes,
  installInvariants,
  login,
  parseSetCookieStrict,
  useApp,
  whoami,
} from './harness.js'
import { flaskSigner, nativeSigner } from './signer.js'

installInvariants()

const minute = 60_000
const second = 1000

/** The cookie to send next: the response's new one when it set one, else the current one. */
function next(res: Result, current: string): string {
  const header = res.setCookies[0]
  if (!header) return current
  const pair = header.slice(0, header.indexOf(';'))
  return pair.endsWith('=') ? '' : pair
}

/** Stores whose own liveness check runs on the fake clock. */
const clockedStores = new Set(['memory', 'file', 'sqlite'])

async function readable(app: TestApp, key: string): Promise<boolean> {
  return (await app.spy!.get(key)) !== null
}

forModes('ALL', (mode: Mode) => {
  const h = useApp(mode)
  const ck = mode.group === 'CK'

  it('X-01 idle 30 min: at 29:59 authenticated and sliding; exactly at the deadline and at 30:01 → ANON, record unusable, deletion Set-Cookie', async () => {
    const app = h.app
    const t0 = app.clock.now()
    // Cookie sessions slide only when re-issued: a permanent session is re-issued on every
    // request that reads it (Flask's SESSION_REFRESH_EACH_REQUEST), a browser-session one only
    // when written. Server-side sessions slide on any request (touch, at most once a minute).
    const permanent = ck
    const a = await login(app, 'alice', { permanent })
    const exact = await login(app, 'carol', { permanent })
    const late = await login(app, 'bob', { permanent })

    app.clock.set(t0 + 29 * minute + 59 * second)
    const at2959 = await whoami(app, a)
    expectUser(at2959, 'alice', 'at 29:59')
    if (!ck) {
      expect(at2959.calls.filter((c) => c.kind === 'touch').length, 'the idle expiry slides').toBe(
        1,
      )
    } else {
      expect(at2959.setCookies.length, 'a permanent cookie is re-issued').toBe(1)
    }
    const slid = next(at2959, a)

    app.clock.set(t0 + 30 * minute)
    const atDeadline = await whoami(app, exact)
    if (mode.name === 'flask') {
      // Pinned difference (plan: "exactly at the deadline counts as expired"): the Flask
      // format keeps itsdangerous's rule, `age > max_age` is expired, so a cookie exactly
      // max_age seconds old still verifies, as it does in Flask.
      expectUser(atDeadline, 'carol', 'exactly at the deadline (Flask rule)')
    } else {
      expectAnon(atDeadline, 'exactly at the deadline')
    }

    app.clock.set(t0 + 30 * minute + 1 * second)
    const after = await whoami(app, late)
    expectAnon(after, 'at 30:01')
    if (ck) {
      // Pinned difference (plan: "a deletion Set-Cookie is sent"): cookie modes follow Flask,
      // whose session interface deletes the cookie only when the request modified the
      // session; a refused cookie stays in the browser and keeps being refused.
      expect(after.setCookies).toEqual([])
    } else {
      expect(after.setCookies.length, 'deletion Set-Cookie').toBe(1)
      expect(parseSetCookieStrict(after.setCookies[0]!).attributes.get('max-age')).toBe('0')
      const key = app.keyOfCookie(late)!
      // Pinned difference (plan: "the server record is deleted"): tessera refuses an expired
      // record at once (the core compares its expiry with the clock) but spends no store
      // write on a read; expired records go at the next prune (or Redis's own TTL).
      if (clockedStores.has(mode.name)) {
        expect(await readable(app, key), 'the store no longer returns it').toBe(false)
        await app.spy!.prune?.()
        expect(await app.raw!.count(), 'after a prune only the live session is left').toBe(1)
      }
    }

    app.clock.set(t0 + 59 * minute + 58 * second)
    expectUser(await whoami(app, slid), 'alice', 'a further 29:59 after the slide')
  })

  it('X-02 absolute 8 h: a request every 10 min from login keeps it alive, yet at 8 h + 1 s → ANON; a refreshed Expires never passes the absolute deadline', async () => {
    const app = h.app
    const t0 = app.clock.now()
    let cookie = await login(app, 'alice', { permanent: true })
    const deadline = t0 + plan.absolute * 1000
    // Pinned difference: a Flask cookie holds only what Flask writes, so it carries no creation
    // time and each re-issue starts its lifetime again; there maxAge bounds a captured cookie,
    // and the absolute timeout needs the native format or a store (SECURITY.md says so).
    const absoluteHolds = mode.name !== 'flask'
    for (let t = 10; t < 8 * 60; t += 10) {
      app.clock.set(t0 + t * minute)
      const res = await whoami(app, cookie)
      expectUser(res, 'alice', `at ${t} min`)
      for (const header of res.setCookies) {
        if (!absoluteHolds) continue
        const expires = parseSetCookieStrict(header).attributes.get('expires')
        expect(Date.parse(String(expires)), `Expires at ${t} min`).toBeLessThanOrEqual(deadline)
      }
      cookie = next(res, cookie)
    }
    app.clock.set(deadline + 1 * second)
    if (absoluteHolds) expectAnon(await whoami(app, cookie), 'at 8 h + 1 s')
    else expectUser(await whoami(app, cookie), 'alice', 'at 8 h + 1 s (Flask format)')
  })
})

forModes(['CK'], (mode) => {
  const h = useApp(mode)

  it('X-04 issued a day ahead, negative, non-integer, missing or oversized timestamps → ANON; a +45 s skew is accepted', async () => {
    const app = h.app
    const now = app.clock.now()
    const json = '{"user":"mallory"}'
    const values: [string, string][] = []
    let skew45: string
    if (mode.name === 'flask') {
      const signer = flaskSigner(app.secrets[0]!)
      const s = Math.floor(now / 1000)
      values.push(
        ['issued now + 1 day', signer.seal(json, s + 86_400)],
        ['issued now + 61 s', signer.seal(json, s + 61)],
        ['issued before the idle window', signer.seal(json, s - plan.idle - 1)],
        ['missing timestamp', signer.seal(json, s, '')],
        ['12-char timestamp', signer.seal(json, s, 'AAAAAAAAAAAA')],
        ['timestamp of length 1 mod 4', signer.seal(json, s, 'AAAAA')],
      )
      skew45 = signer.seal(json, s + 45)
    } else {
      const signer = nativeSigner(
        app.secrets[0]!,
        app.sessions.cookieName,
        mode.name === 'encrypted',
      )
      const b36 = (ms: number) => Math.floor(ms / 1000).toString(36)
      values.push(
        ['issued now + 1 day', signer.seal({ json, iat: b36(now + 86_400_000) }, now)],
        ['issued now + 61 s', signer.seal({ json, iat: b36(now + 61_000) }, now)],
        [
          'issued before the idle window',
          signer.seal({ json, iat: b36(now - plan.idle * 1000 - 1000) }, now),
        ],
        ['negative', signer.seal({ json, iat: '-1' }, now)],
        ['non-integer', signer.seal({ json, iat: '1.5' }, now)],
        ['missing', signer.seal({ json, iat: '' }, now)],
        ['11 base36 digits', signer.seal({ json, iat: 'zzzzzzzzzzz' }, now)],
        ['upper case', signer.seal({ json, iat: b36(now).toUpperCase() }, now)],
        ['1e3 style', signer.seal({ json, iat: '1e+3' }, now)],
      )
      skew45 = signer.seal({ json, iat: b36(now + 45_000) }, now)
    }
    // The formats carry one timestamp, the issue time; there is no separate last-seen or
    // expiry field to forge (the plan's "lastSeen"/"exp" variants have nothing to act on).
    for (const [what, value] of values) expectAnon(await whoami(app, cookieWith(app, value)), what)
    const skewed = await whoami(app, cookieWith(app, skew45))
    if (mode.name === 'flask') {
      // Pinned difference (plan: "+45 s skew accepted"): itsdangerous refuses any cookie dated
      // in the future ("signature age < 0"), and the Flask format keeps Flask's behaviour.
      expectAnon(skewed, '+45 s (Flask refuses any future date)')
    } else {
      expectUser(skewed, 'mallory', '+45 s skew')
    }
  })

  it('X-05 (CK, pinned) logout deletes the cookie but cannot revoke a captured copy', async () => {
    // Pinned: design decision 6.1. Cookie sessions are stateless; without a revocation store,
    // a captured cookie stays valid until it expires (idle/maxAge), as the README documents.
    const app = h.app
    const cookie = await login(app, 'alice')
    const out = await app.request('/logout', { method: 'POST', cookie })
    expect(out.status).toBe(303)
    expect(out.setCookies[0]).toMatch(/^__Host-session=;.*Max-Age=0/)
    expectUser(await whoami(app, cookie), 'alice', 'replayed after logout')
  })
})

forModes(['SRV'], (mode) => {
  const h = useApp(mode)

  it('X-05 logout → 303, record deleted, deletion Set-Cookie; replays from the same or another client → ANON; /protected → 303 /login', async () => {
    const app = h.app
    const cookie = await login(app, 'alice')
    const key = app.keyOfCookie(cookie)!
    const out = await app.request('/logout', { method: 'POST', cookie })
    expect(out.status).toBe(303)
    expect(out.calls.map((c) => `${c.op} ${c.key}`)).toContain(`destroy ${key}`)
    expect(parseSetCookieStrict(out.setCookies[0]!)).toMatchObject({
      name: '__Host-sid',
      value: '',
    })
    expect(await readable(app, key)).toBe(false)
    expectAnon(await whoami(app, cookie), 'replay, same client')
    expectAnon(
      await app.request('/whoami', {
        cookie,
        headers: { 'user-agent': 'other-browser/1.0', 'x-forwarded-for': '203.0.113.9' },
      }),
      'replay, another client',
    )
    const protectedPage = await app.request('/protected', { cookie })
    expect(protectedPage.status).toBe(303)
    expect(protectedPage.headers.location).toBe('/login')
  })

  it('X-08 logout-others kills K2/K3 and re-ids K1; admin termination and a disabled account kill every session', async () => {
    const app = h.app
    const [k1, k2, k3] = [
      await login(app, 'dana'),
      await login(app, 'dana'),
      await login(app, 'dana'),
    ]
    const others = await app.request('/logout-others', { method: 'POST', cookie: k1! })
    expect(others.status).toBe(200)
    expect(others.json()).toEqual({ revoked: 2 })
    const k1b = others.cookie()
    expect(k1b).not.toBe(k1)
    expectAnon(await whoami(app, k2!), 'K2 after logout-others')
    expectAnon(await whoami(app, k3!), 'K3 after logout-others')
    expectAnon(await whoami(app, k1!), 'K1 old id')
    expectUser(await whoami(app, k1b), 'dana', 'K1 new id')

    const k4 = await login(app, 'dana')
    const terminated = await app.request('/admin/terminate?user=dana', { method: 'POST' })
    expect(terminated.json()).toEqual({ revoked: 2 })
    expectAnon(await whoami(app, k1b), 'K1 after admin termination')
    expectAnon(await whoami(app, k4), 'K4 after admin termination')

    const k5 = await login(app, 'dana')
    const disabled = await app.request('/admin/disable?user=dana', { method: 'POST' })
    expect(disabled.json()).toEqual({ revoked: 1 })
    expectAnon(await whoami(app, k5), 'K5 after the account is disabled')
    const refused = await app.request('/login?user=dana', { method: 'POST' })
    expect(refused.status).toBe(403)
    if (app.sessions.mode !== 'store') throw new Error('this case runs with a store')
    expect(await app.sessions.listByUser('dana')).toEqual([])
  })
})

forModes('ALL', (mode) => {
  const h = useApp(mode)
  const ck = mode.group === 'CK'

  it('X-07 login and /elevate regenerate: the pre-login session A → ANON (SRV), B keeps only the whitelisted cart', async () => {
    const app = h.app
    const set = async (cookie: string | undefined, k: string, v: string) => {
      const res = await app.request(`/s/set?k=${k}&json=1&v=${encodeURIComponent(v)}`, {
        method: 'POST',
        ...(cookie ? { cookie } : {}),
      })
      expect(res.status).toBe(200)
      return cookie ? next(res, cookie) : res.cookie()
    }
    let a = await set(undefined, 'cart', '[1]')
    a = await set(a, 'theme', '"dark"')
    const b = await login(app, 'erin', { cookie: a })
    expect(cookieValue(b)).not.toBe(cookieValue(a))
    const get = async (cookie: string, k: string) =>
      (await app.request(`/s/get?k=${k}`, { cookie })).json<{ value: unknown }>().value
    expect(await get(b, 'cart')).toEqual([1])
    expect(await get(b, 'theme')).toBeNull()
    expectUser(await whoami(app, b), 'erin')

    const elevated = await app.request('/elevate', { method: 'POST', cookie: b })
    expect(elevated.status).toBe(200)
    const c = elevated.cookie()
    expect(cookieValue(c)).not.toBe(cookieValue(b))
    expect(await get(c, 'elevated')).toBe(true)

    if (ck) {
      // Pinned: design decision 6.1. A cookie session cannot be revoked: the pre-login cookie
      // A still carries the anonymous data (never the user), and the pre-elevation cookie B
      // still carries the user without the elevation.
      const anon = await whoami(app, a)
      expect(anon.json()).toMatchObject({ user: null, userId: null })
      expect(await get(a, 'cart')).toEqual([1])
      expect(await get(b, 'elevated')).toBeNull()
    } else {
      expectAnon(await whoami(app, a), 'A after login')
      expectAnon(await whoami(app, b), 'B after /elevate')
      expect(await readable(app, app.keyOfCookie(a)!)).toBe(false)
      expect(await readable(app, app.keyOfCookie(b)!)).toBe(false)
    }
  })
})

describe('X-01 (unit) the idle boundary of a native cookie', () => {
  it('X-01 a native cookie is refused exactly maxAge seconds after it was issued', async () => {
    const { createNativeCodec } = await import('../../src/codecs/native.js')
    const codec = createNativeCodec({ secrets: 'x'.repeat(32) })
    const issued = 1_700_000_000_000
    const value = codec.encode({ user: 'a' }, noMeta, issued)
    expect(
      codec.decode(value, { now: issued + (plan.idle - 1) * 1000, maxAge: plan.idle }).ok,
    ).toBe(true)
    expect(codec.decode(value, { now: issued + plan.idle * 1000, maxAge: plan.idle }).ok).toBe(
      false,
    )
  })
})
