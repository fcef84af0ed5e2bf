/**
 * Flask's session tutorial on Koa: `/` says who is logged in, `/login` sets `session.username`,
 * `/logout` pops it. Every value from a user is HTML-escaped. (A real app would add
 * `@koa/router` and `@koa/bodyparser`; a switch and a few lines do for three routes.)
 * @module
 */
import Koa, { type Context } from 'koa'
import type { Sessions } from 'tessera'
import { session } from 'tessera/adapters/koa'

/** What the app keeps in a session. */
export type TutorialSession = { username?: string }

// Types `ctx.session` across the app (in your app: `declare module 'tessera/adapters/koa'`).
declare module 'tessera/adapters/koa' {
  interface AppSession extends TutorialSession {}
}

/** The tutorial app, with sessions from `sessions`. */
export function createApp(sessions: Sessions<TutorialSession>): Koa {
  const app = new Koa()
  app.use(session(sessions))

  app.use(async (ctx) => {
    switch (`${ctx.method} ${ctx.path}`) {
      case 'GET /': {
        const username = ctx.session.get('username')
        ctx.body = username
          ? `<p>Logged in as ${escapeHtml(username)}</p><p><a href="/logout">Log out</a></p>`
          : '<p>You are not logged in</p><p><a href="/login">Log in</a></p>'
        return
      }
      case 'GET /login':
        ctx.body = loginForm
        return
      case 'POST /login': {
        const username = ((await readForm(ctx)).get('username') ?? '').trim()
        if (!username) {
          ctx.status = 400
          ctx.body = loginForm
          return
        }
        ctx.session.regenerate()
        ctx.session.set('username', username)
        ctx.redirect('/')
        return
      }
      case 'GET /logout':
        ctx.session.pop('username')
        ctx.redirect('/')
        return
    }
  })

  return app
}

const loginForm = `<form method="post" action="/login">
  <p><input type="text" name="username" required>
  <p><input type="submit" value="Login">
</form>`

/** The body of a form post, at most 16 KiB. */
async function readForm(ctx: Context): Promise<URLSearchParams> {
  let body = ''
  for await (const chunk of ctx.req) {
    body += chunk
    if (body.length > 16_384) ctx.throw(413)
  }
  return new URLSearchParams(body)
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
