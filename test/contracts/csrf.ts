/**
 * The CSRF suite every framework's `csrf()` passes. Each adapter test builds this app with its
 * session middleware and its `csrf({ exempt: ['/hooks/*'] })`:
 *
 * - `GET /token`: answers the session's `csrfToken()` as text;
 * - `POST /submit`: answers `ok` (reached only when the check passed);
 * - `POST /hooks/in`: answers `ok` (exempt);
 * - `POST /login`: `regenerate()`s the session and answers `ok`.
 *
 * and, for a form every stranger sees, the stateless token of the `FormCsrf` it is given, on a
 * route exempt from `csrf()` (`exempt: ['/hooks/*', '/form']`):
 *
 * - `GET /form`: `issue()`s a token for the request's cookies, appends its Set-Cookie to the
 *   response's, and answers the token as text; it must not touch the session;
 * - `POST /form`: answers `ok` when `verify()` accepts the request's cookies and the token (the
 *   `_csrf` form field where the app parses forms, else the `X-CSRF-Token` header), else 403.
 * @module
 */
import { createFormCsrf, type FormCsrf, type FormCsrfOptions } from 'tessera'
import { describe, expect, it } from 'vitest'
import type { AppHandle } from './adapter.js'

/** Builds the CSRF app, with `formCsrf` on its stateless form route, and returns a handle to it. */
export type CsrfAppFactory = (formCsrf: FormCsrf) => Promise<AppHandle>

const formSecret = 'form-csrf-suite-secret-of-32-bytes!!'
const newerSecret = 'form-csrf-suite-newer-secret-32-by!!'

/** A `FormCsrf` for the suite, on a clock the test moves. */
function formCsrf(options: Partial<FormCsrfOptions> = {}) {
  const clock = { now: 1_800_000_000_000 }
  return { clock, csrf: createFormCsrf({ secret: formSecret, now: () => clock.now, ...options }) }
}

/** `name=value` of a Set-Cookie header: what the browser sends back. */
const sent = (setCookie: string) => setCookie.slice(0, setCookie.indexOf(';'))

/** Runs the CSRF suite; `form` says whether the app parses urlencoded bodies for the field. */
export function describeCsrf(
  name: string,
  factory: CsrfAppFactory,
  options: { form: boolean },
): void {
  describe(`${name} csrf() (conformance)`, () => {
    async function tokenAndCookie(app: AppHandle) {
      const res = await app.fetch('/token')
      const header = res.headers.getSetCookie()[0]!
      return { token: await res.text(), cookie: header.slice(0, header.indexOf(';')) }
    }

    it('refuses an unsafe request without a token with a clear 403', async () => {
      const app = await factory(formCsrf().csrf)
      const { cookie } = await tokenAndCookie(app)

      const res = await app.fetch('/submit', { method: 'POST', headers: { cookie } })

      expect(res.status).toBe(403)
      expect(await res.text()).toMatch(/CSRF token is missing/)
      await app.close()
    })

    it('refuses a wrong token, and one from another session', async () => {
      const app = await factory(formCsrf().csrf)
      const mine = await tokenAndCookie(app)
      const theirs = await tokenAndCookie(app)

      const wrong = await app.fetch('/submit', {
        method: 'POST',
        headers: { cookie: mine.cookie, 'x-csrf-token': 'x'.repeat(43) },
      })
      const foreign = await app.fetch('/submit', {
        method: 'POST',
        headers: { cookie: mine.cookie, 'x-csrf-token': theirs.token },
      })

      expect(wrong.status).toBe(403)
      expect(await wrong.text()).toMatch(/does not match/)
      expect(foreign.status).toBe(403)
      await app.close()
    })

    it("lets the session's token through in the X-CSRF-Token header", async () => {
      const app = await factory(formCsrf().csrf)
      const { token, cookie } = await tokenAndCookie(app)

      const res = await app.fetch('/submit', {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': token },
      })

      expect(res.status).toBe(200)
      expect(await res.text()).toBe('ok')
      await app.close()
    })

    if (options.form) {
      it('lets the token through in the _csrf form field', async () => {
        const app = await factory(formCsrf().csrf)
        const { token, cookie } = await tokenAndCookie(app)

        const res = await app.fetch('/submit', {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: token, other: 'x' }).toString(),
        })

        expect(res.status).toBe(200)
        await app.close()
      })
    }

    if (options.form) {
      it('reads the X-CSRF-Token header first, and the _csrf field only without one', async () => {
        const app = await factory(formCsrf().csrf)
        const { token, cookie } = await tokenAndCookie(app)
        const form = { cookie, 'content-type': 'application/x-www-form-urlencoded' }

        const headerWins = await app.fetch('/submit', {
          method: 'POST',
          headers: { ...form, 'x-csrf-token': token },
          body: new URLSearchParams({ _csrf: 'x'.repeat(43) }).toString(),
        })
        const wrongHeader = await app.fetch('/submit', {
          method: 'POST',
          headers: { ...form, 'x-csrf-token': 'x'.repeat(43) },
          body: new URLSearchParams({ _csrf: token }).toString(),
        })

        expect(headerWins.status).toBe(200)
        expect(wrongHeader.status).toBe(403)
        await app.close()
      })
    }

    it('lets exempt routes and safe methods through', async () => {
      const app = await factory(formCsrf().csrf)

      const hook = await app.fetch('/hooks/in', { method: 'POST' })
      const get = await app.fetch('/token')

      expect(hook.status).toBe(200)
      expect(get.status).toBe(200)
      await app.close()
    })

    it('refuses a token from before regenerate()', async () => {
      const app = await factory(formCsrf().csrf)
      const { token, cookie } = await tokenAndCookie(app)
      const login = await app.fetch('/login', {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': token },
      })
      const next = login.headers.getSetCookie()[0]!
      const after = next.slice(0, next.indexOf(';'))

      const res = await app.fetch('/submit', {
        method: 'POST',
        headers: { cookie: after, 'x-csrf-token': token },
      })

      expect(login.status).toBe(200)
      expect(res.status).toBe(403)
      await app.close()
    })

    describe('stateless form token (createFormCsrf)', () => {
      /** A browser's visit to the form: its token, and the cookie holding the other half. */
      async function visit(app: AppHandle, cookie?: string) {
        const res = await app.fetch('/form', cookie ? { headers: { cookie } } : {})
        expect(res.status).toBe(200)
        const setCookies = res.headers.getSetCookie()
        return { token: await res.text(), cookie: sent(setCookies[0]!), setCookies }
      }

      const post = (app: AppHandle, cookie: string | null, token: string) =>
        app.fetch('/form', {
          method: 'POST',
          headers: { ...(cookie === null ? {} : { cookie }), 'x-csrf-token': token },
        })

      it('accepts the token with its own cookie, and the form makes no session', async () => {
        const app = await factory(formCsrf().csrf)

        const { token, cookie, setCookies } = await visit(app)
        const res = await post(app, cookie, token)

        expect(setCookies).toHaveLength(1)
        expect(setCookies[0]).toMatch(
          /^form-csrf=[A-Za-z0-9_-]{43}; Expires=.*; HttpOnly; Path=\/; SameSite=Lax$/,
        )
        expect(res.status).toBe(200)
        expect(await res.text()).toBe('ok')
        await app.close()
      })

      if (options.form) {
        it('accepts the token in the _csrf form field', async () => {
          const app = await factory(formCsrf().csrf)
          const { token, cookie } = await visit(app)

          const res = await app.fetch('/form', {
            method: 'POST',
            headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ _csrf: token, username: 'x' }).toString(),
          })

          expect(res.status).toBe(200)
          await app.close()
        })
      }

      it("refuses a token with another browser's cookie, or with none", async () => {
        const app = await factory(formCsrf().csrf)
        const mine = await visit(app)
        const theirs = await visit(app)

        expect(mine.cookie).not.toBe(theirs.cookie)
        expect((await post(app, mine.cookie, theirs.token)).status).toBe(403)
        expect((await post(app, theirs.cookie, mine.token)).status).toBe(403)
        expect((await post(app, null, mine.token)).status).toBe(403)
        await app.close()
      })

      it('refuses a token past its lifetime', async () => {
        const { csrf, clock } = formCsrf({ lifetime: 600 })
        const app = await factory(csrf)
        const { token, cookie } = await visit(app)

        clock.now += 600_000
        const atLifetime = await post(app, cookie, token)
        clock.now += 1000
        const past = await post(app, cookie, token)

        expect(atLifetime.status).toBe(200)
        expect(past.status).toBe(403)
        await app.close()
      })

      it('refuses a tampered token', async () => {
        const app = await factory(formCsrf().csrf)
        const { token, cookie } = await visit(app)
        const [issued, mac] = token.split('.') as [string, string]
        const flipped = `${mac.slice(0, 5)}${mac[5] === 'A' ? 'B' : 'A'}${mac.slice(6)}`

        for (const bad of [
          `${issued}.${flipped}`,
          `${Number(issued) + 1}.${mac}`,
          mac,
          '',
          cookie.slice(cookie.indexOf('=') + 1),
        ]) {
          expect((await post(app, cookie, bad)).status, bad).toBe(403)
        }
        await app.close()
      })

      it('accepts a token issued before a secret rotation, and none once its secret is dropped', async () => {
        const before = await factory(formCsrf().csrf)
        const { token, cookie } = await visit(before)
        await before.close()
        const rotated = await factory(formCsrf({ secret: [newerSecret, formSecret] }).csrf)
        const dropped = await factory(formCsrf({ secret: newerSecret }).csrf)

        expect((await post(rotated, cookie, token)).status).toBe(200)
        expect((await post(dropped, cookie, token)).status).toBe(403)
        await rotated.close()
        await dropped.close()
      })
    })
  })
}
