/**
 * The CSRF suite every framework's `csrf()` passes. Each adapter test builds this app with its
 * session middleware and its `csrf({ exempt: ['/hooks/*'] })`:
 *
 * - `GET /token`: answers the session's `csrfToken()` as text;
 * - `POST /submit`: answers `ok` (reached only when the check passed);
 * - `POST /hooks/in`: answers `ok` (exempt);
 * - `POST /login`: `regenerate()`s the session and answers `ok`.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { AppHandle } from './adapter.js'

/** Builds the CSRF app and returns a handle to it. */
export type CsrfAppFactory = () => Promise<AppHandle>

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
      const app = await factory()
      const { cookie } = await tokenAndCookie(app)

      const res = await app.fetch('/submit', { method: 'POST', headers: { cookie } })

      expect(res.status).toBe(403)
      expect(await res.text()).toMatch(/CSRF token is missing/)
      await app.close()
    })

    it('refuses a wrong token, and one from another session', async () => {
      const app = await factory()
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
      const app = await factory()
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
        const app = await factory()
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

    it('lets exempt routes and safe methods through', async () => {
      const app = await factory()

      const hook = await app.fetch('/hooks/in', { method: 'POST' })
      const get = await app.fetch('/token')

      expect(hook.status).toBe(200)
      expect(get.status).toBe(200)
      await app.close()
    })

    it('refuses a token from before regenerate()', async () => {
      const app = await factory()
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
  })
}
