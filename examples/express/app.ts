/**
 * Flask's session tutorial on Express: `/` says who is logged in, `/login` sets
 * `session.username`, `/logout` pops it. Every value from a user is HTML-escaped.
 * @module
 */
import express, { type Express } from 'express'
import type { Sessions } from 'tessera'
import { session } from 'tessera/adapters/express'

/** What the app keeps in a session. */
export type TutorialSession = { username?: string }

// Types `req.session` across the app (in your app: `declare module 'tessera/adapters/express'`).
declare module 'tessera/adapters/express' {
  interface AppSession extends TutorialSession {}
}

/** The tutorial app, with sessions from `sessions`. */
export function createApp(sessions: Sessions<TutorialSession>): Express {
  const app = express()
  app.use(express.urlencoded({ extended: false }))
  app.use(session(sessions))

  app.get('/', (req, res) => {
    const username = req.session.get('username')
    res.send(
      username
        ? `<p>Logged in as ${escapeHtml(username)}</p><p><a href="/logout">Log out</a></p>`
        : '<p>You are not logged in</p><p><a href="/login">Log in</a></p>',
    )
  })

  app.get('/login', (_req, res) => {
    res.send(loginForm)
  })

  app.post('/login', (req, res) => {
    const username = String(req.body?.username ?? '').trim()
    if (!username) {
      res.status(400).send(loginForm)
      return
    }
    req.session.regenerate()
    req.session.set('username', username)
    res.redirect('/')
  })

  app.get('/logout', (req, res) => {
    req.session.pop('username')
    res.redirect('/')
  })

  return app
}

const loginForm = `<form method="post" action="/login">
  <p><input type="text" name="username" required>
  <p><input type="submit" value="Login">
</form>`

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
