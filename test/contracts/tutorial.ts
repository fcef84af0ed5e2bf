/**
 * The tutorial-app suite: every app in examples/ is Flask's tutorial (a login form, a greeting
 * by escaped name, a logout), and each passes this suite unchanged, reached through a `fetch`
 * in-process where the framework allows and over loopback otherwise.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessions, type Sessions } from '../../src/session/sessions.js'
import { type AppHandle, cookieOf } from './adapter.js'

/** Starts the example's app for `sessions` and returns a handle to it. */
export type TutorialLauncher = (sessions: Sessions<{ username?: string }>) => Promise<AppHandle>

export interface TutorialOptions {
  /**
   * How the app writes the name `<b>Ada</b>` into its page.
   * @default '&#60;b&#62;Ada&#60;/b&#62;'
   */
  escapedName?: string
}

const secret = 'tutorial-example-test-secret-32-bytes'

/** Runs the tutorial-app suite against the app `launch` starts. */
export function describeTutorialApp(
  framework: string,
  launch: TutorialLauncher,
  { escapedName = '&#60;b&#62;Ada&#60;/b&#62;' }: TutorialOptions = {},
): void {
  describe(`the ${framework} tutorial app`, () => {
    let app: AppHandle

    beforeAll(async () => {
      app = await launch(createSessions({ secret }))
    })

    afterAll(async () => {
      await app.close()
    })

    it('logs in, greets the user by escaped name, and logs out', async () => {
      const login = await app.fetch('/login', {
        method: 'POST',
        body: new URLSearchParams({ username: '<b>Ada</b>' }),
        redirect: 'manual',
      })
      const cookie = cookieOf(login)
      const home = await (await app.fetch('/', { headers: { cookie } })).text()
      const logout = await app.fetch('/logout', { headers: { cookie }, redirect: 'manual' })
      const after = await (await app.fetch('/', { headers: { cookie: cookieOf(logout) } })).text()

      expect(login.status).toBe(302)
      expect(login.headers.get('location')).toBe('/')
      expect(home).toContain(`Logged in as ${escapedName}`)
      expect(home).not.toContain('<b>')
      expect(logout.status).toBe(302)
      expect(after).toContain('You are not logged in')
    })

    it('shows the login form, and refuses an empty username', async () => {
      const form = await (await app.fetch('/login')).text()
      const empty = await app.fetch('/login', {
        method: 'POST',
        body: new URLSearchParams({ username: ' ' }),
      })

      expect(form).toContain('name="username"')
      expect(empty.status).toBe(400)
      expect(empty.headers.getSetCookie()).toEqual([])
    })
  })
}
