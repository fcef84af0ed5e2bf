/**
 * The Flask tutorial app in TypeScript: `/` says who is logged in, `/login` sets
 * `session.username`, `/logout` pops it. Unlike the tutorial's own code, every output is escaped.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { withSession } from '../src/adapters/node.js'
import type { Session } from '../src/core/session.js'
import type { Sessions } from '../src/core/sessions.js'
import type { DemoSession } from './config.js'
import { escapeHtml, page } from './html.js'

/** The longest username the login form accepts. */
export const maxUsername = 64

/** The demo's request handler. */
export function createApp(sessions: Sessions<DemoSession>, storeLabel: string) {
  const footer = `Sessions: <strong>${escapeHtml(storeLabel)}</strong>`

  function html(res: ServerResponse, status: number, title: string, body: string): void {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      // Pages show session data: never keep them in a cache, nor show them on "back".
      'cache-control': 'no-store',
    })
    res.end(page(title, body, footer))
  }

  function redirect(res: ServerResponse, location: string): void {
    res.writeHead(302, { location })
    res.end()
  }

  async function route(req: IncomingMessage, res: ServerResponse, session: Session<DemoSession>) {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    if (url.pathname === '/' && method === 'GET') {
      const username = session.get('username')
      const body = username
        ? `<h1>Logged in as ${escapeHtml(username)}</h1>\n<p><a href="/logout">Log out</a></p>`
        : '<h1>You are not logged in</h1>\n<p><a href="/login">Log in</a></p>'
      return html(res, 200, 'Home', body)
    }
    if (url.pathname === '/login' && method === 'GET') {
      return html(res, 200, 'Log in', loginForm(null))
    }
    if (url.pathname === '/login' && method === 'POST') {
      const form = await readForm(req)
      const username = (form.get('username') ?? '').trim()
      if (!username || username.length > maxUsername) {
        const why = username
          ? `A username has at most ${maxUsername} characters.`
          : 'Please enter a username.'
        return html(res, 400, 'Log in', loginForm(why))
      }
      session.regenerate()
      session.set('username', username)
      // Server-side sessions are listed per user; a cookie session keeps only what Flask would.
      if (sessions.mode === 'store') session.setUser(username)
      return redirect(res, '/')
    }
    if (url.pathname === '/logout') {
      session.pop('username')
      if (sessions.mode === 'store') session.setUser(null)
      return redirect(res, '/')
    }
    return html(res, 404, 'Not found', '<h1>Not found</h1>')
  }

  return withSession(sessions, route)
}

function loginForm(error: string | null): string {
  return `<h1>Log in</h1>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required maxlength="64">
<button type="submit">Log in</button>
</form>`
}

/** The body of a form POST, at most 16 KiB. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = ''
  for await (const chunk of req) {
    body += chunk
    if (body.length > 16_384) throw new Error('form too large')
  }
  return new URLSearchParams(body)
}
