/**
 * Flask's session tutorial on Hono: `/` says who is logged in, `/login` sets
 * `session.username`, `/logout` pops it. Hono's `html` template escapes every value from a user.
 * @module
 */
import { Hono } from 'hono'
import { html } from 'hono/html'
import type { Sessions } from 'tessera'
import { type SessionEnv, session } from 'tessera/adapters/hono'

/** What the app keeps in a session. */
export type TutorialSession = { username?: string }

/** The tutorial app, with sessions from `sessions`. */
export function createApp(sessions: Sessions<TutorialSession>) {
  const app = new Hono<SessionEnv<TutorialSession>>()
  app.use(session(sessions))

  app.get('/', (c) => {
    const username = c.get('session').get('username')
    return c.html(
      username
        ? html`<p>Logged in as ${username}</p><p><a href="/logout">Log out</a></p>`
        : html`<p>You are not logged in</p><p><a href="/login">Log in</a></p>`,
    )
  })

  app.get('/login', (c) => c.html(loginForm))

  app.post('/login', async (c) => {
    const form = await c.req.parseBody()
    const username = typeof form.username === 'string' ? form.username.trim() : ''
    if (!username) return c.html(loginForm, 400)
    c.get('session').regenerate()
    c.get('session').set('username', username)
    return c.redirect('/')
  })

  app.get('/logout', (c) => {
    c.get('session').pop('username')
    return c.redirect('/')
  })

  return app
}

const loginForm = html`<form method="post" action="/login">
  <p><input type="text" name="username" required>
  <p><input type="submit" value="Login">
</form>`
