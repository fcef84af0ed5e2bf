/**
 * The client-input cases of sections 4.1 and 4.2 that apply to any site (T-01, M-01, M-02,
 * M-03, M-05, M-06, M-11, M-12), against the demo site in each of its modes. The demo's
 * anonymous outcome is its home page saying "You are not logged in" (`expectDemoAnon`).
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Result } from './app.js'
import {
  type DemoSite,
  expectDemoAnon,
  expectLoggedIn,
  home,
  loggedIn,
  useDemo,
} from './demo-site.js'
import { cookieWith, forModes, installInvariants, noteSensitive } from './harness.js'
import {
  grownValue,
  hostileIds,
  malformedValues,
  oddCookieHeaders,
  refusedByNode,
  respelledCookieHeaders,
  tamperedVariants,
} from './inputs.js'

installInvariants()

const noStoreCall = (res: Result, what: string) =>
  expect(
    res.calls.map((c) => c.op),
    `${what}: no store call`,
  ).toEqual([])

/** A raw `GET /` whose Cookie header is the given bytes. */
function rawHome(site: DemoSite, cookie: Buffer | string): Promise<Result> {
  const bytes = typeof cookie === 'string' ? Buffer.from(cookie, 'latin1') : cookie
  return site.sendRaw(
    Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ', 'latin1'), bytes]),
  )
}

describe('demo site', () => {
  forModes('ALL', (mode) => {
    const h = useDemo(mode)

    if (mode.group === 'CK') {
      it('T-01 one bit flipped in each segment, truncated/extended/empty MAC, case, separators → ANON; V still logs in', async () => {
        const site = h.app
        const browser = await loggedIn(site)
        const v = browser.value
        const list = tamperedVariants(mode, v)
        expect(list.length).toBeGreaterThanOrEqual(12)
        for (const [what, value] of list) {
          expect(value, what).not.toBe(v)
          expectDemoAnon(await home(site, cookieWith(site, value)), what)
        }
        expectLoggedIn(await home(site, browser.cookie), 'alice', 'the untouched V')
      })
    }

    it('M-01 %%%, !!!!, odd length, embedded space, a.b.c.d, ., .., empty, 1 and 9 segments → ANON, no store call', async () => {
      const site = h.app
      for (const value of malformedValues) {
        const res = await home(site, cookieWith(site, value))
        expectDemoAnon(res, JSON.stringify(value))
        noStoreCall(res, JSON.stringify(value))
      }
    })

    it('M-02 values of 4 097 and 8 192 bytes → ANON, no store call; 64 KB value, 16 KB and 1 MB headers → the server’s 431, never a 500', async () => {
      const site = h.app
      const name = site.sessions.cookieName
      const browser = await loggedIn(site)
      const valid = browser.value
      for (const size of [4097, 8192]) {
        const value = grownValue(mode, valid, size)
        expect(value.length).toBe(size)
        const res = await home(site, cookieWith(site, value))
        expectDemoAnon(res, `${size}-byte value`)
        noStoreCall(res, `${size}-byte value`)
      }
      for (const [what, header] of [
        ['65 536-byte value', `${name}=${grownValue(mode, valid, 65_536)}`],
        ['16 KB header', `${name}=${valid}; pad=${'x'.repeat(16_384)}`],
        ['1 MB header', `pad=${'x'.repeat(1 << 20)}; ${name}=${valid}`],
      ] as const) {
        const res = await rawHome(site, header)
        expect([431, 400], what).toContain(res.status)
      }
      expectLoggedIn(await home(site, browser.cookie), 'alice', 'afterwards')
    })

    it('M-02 500 cookies in one header → ANON (unrelated, or 500 garbage session cookies without a store call); the valid one among them still logs in', async () => {
      const site = h.app
      const browser = await loggedIn(site)
      const many = Array.from({ length: 500 }, (_, i) => `c${i}=${randomBytes(6).toString('hex')}`)
      expectDemoAnon(await home(site, many.join('; ')), '500 unrelated cookies')
      expectLoggedIn(await home(site, `${many.join('; ')}; ${browser.cookie}`), 'alice')
      const ours = Array.from({ length: 500 }, () =>
        cookieWith(site, randomBytes(6).toString('base64url')),
      )
      const flood = await home(site, ours.join('; '))
      expectDemoAnon(flood, '500 session cookies of garbage')
      noStoreCall(flood, '500 session cookies of garbage')
    })

    it('M-03 a valid cookie and a garbage one with the same name, both orders → logged in, no lookup for the garbage; two different valid ones → ANON', async () => {
      const site = h.app
      const valid = (await loggedIn(site, 'alice')).cookie
      const garbage = cookieWith(
        site,
        mode.group === 'SRV' ? `${'A'.repeat(43)}.${'B'.repeat(43)}` : 'garbage',
      )
      for (const header of [`${valid}; ${garbage}`, `${garbage}; ${valid}`]) {
        const res = await home(site, header)
        expectLoggedIn(res, 'alice', header.startsWith(garbage) ? 'garbage first' : 'valid first')
        expect(res.calls.filter((c) => c.op === 'get').length, 'one lookup, the valid id').toBe(
          mode.group === 'SRV' ? 1 : 0,
        )
      }
      // Design decision 6.2: two different verifying values make the request anonymous.
      const other = (await loggedIn(site, 'bob')).cookie
      expectDemoAnon(await home(site, `${valid}; ${other}`), 'two valid sessions')
      expectDemoAnon(await home(site, `${other}; ${valid}`), 'two valid sessions, reversed')
      expectLoggedIn(await home(site, `${valid}; ${valid}`), 'alice', 'the same cookie twice')
    })

    it("M-05 é, emoji, %C3%A9, %C0%AF, %ED%A0%80, %E0%A4%A, NUL, %00, DEL, TAB in the value or the name → ANON or the server's 400; no store call", async () => {
      const site = h.app
      const name = site.sessions.cookieName
      const browser = await loggedIn(site)
      for (const { what, label, header } of oddCookieHeaders(name, browser.value)) {
        const res = await rawHome(site, header)
        if (res.status === 400) {
          // Control bytes: Node's parser refuses the request before the app sees it.
          expect(refusedByNode.has(what), label).toBe(true)
          continue
        }
        expectDemoAnon(res, label)
        noStoreCall(res, label)
      }
      expectLoggedIn(await home(site, browser.cookie), 'alice', 'the clean cookie')
    })

    it('M-06 whitespace around name and value, DQUOTE form, empty pairs, trailing ; → the same session; internal whitespace → ANON', async () => {
      const site = h.app
      const browser = await loggedIn(site)
      const { same, broken } = respelledCookieHeaders(site.sessions.cookieName, browser.value)
      for (const header of same) expectLoggedIn(await home(site, header), 'alice', header)
      for (const header of broken) expectDemoAnon(await home(site, header), JSON.stringify(header))
    })

    if (mode.group === 'SRV') {
      it('M-11 ids ../../etc/passwd, ..%2F..%2Fx, *, sess:*, SQL, CRLF FLUSHALL, 10 KB, 1 char → ANON before any lookup; no record made', async () => {
        const site = h.app
        const records = await site.raw!.count()
        for (const id of hostileIds) {
          const res = await home(site, cookieWith(site, id))
          expectDemoAnon(res, JSON.stringify(id.slice(0, 40)))
          noStoreCall(res, JSON.stringify(id.slice(0, 40)))
        }
        expect(await site.raw!.count()).toBe(records)
      })
    }

    it('M-12 no cookie; a valid token in ?sid=, ?session=, a GET body, X-Session-Id, Authorization: Bearer → ANON; never echoed in a page or a Location', async () => {
      const site = h.app
      const name = site.sessions.cookieName
      const browser = await loggedIn(site)
      const token = browser.value
      const q = encodeURIComponent(token)
      noteSensitive(site, token, q)
      expectDemoAnon(await home(site), 'no cookie')
      const sent: [string, Result][] = [
        ['?sid=', await site.request(`/?sid=${q}&${name}=${q}`)],
        [
          'GET body',
          await site.request('/', {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `sid=${q}&${name}=${q}`,
          }),
        ],
        ['X-Session-Id', await site.request('/', { headers: { 'x-session-id': token } })],
        ['Bearer', await site.request('/', { headers: { authorization: `Bearer ${token}` } })],
        [
          'Set-Cookie request header',
          await site.request('/', { headers: { 'set-cookie': browser.cookie } }),
        ],
      ]
      for (const [what, res] of sent) expectDemoAnon(res, what)
      // Pages that take a parameter: the login form's `next`, the sessions page's redirect.
      const form = await site.request(`/login?next=${q}&sid=${q}`)
      expect(form.status).toBe(200)
      const protectedPage = await site.request(`/sessions?sid=${q}&next=${q}`)
      expect(protectedPage.status).toBe(303)
      expect(protectedPage.headers.location).toBe('/login?next=/sessions')
      // Invariant 1 looks for the token in every body and header of the case.
    })
  })
})
