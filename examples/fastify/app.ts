/**
 * Flask's session tutorial on Fastify: `/` says who is logged in, `/login` sets
 * `session.username`, `/logout` pops it. Every value from a user is HTML-escaped.
 * @module
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Sessions } from 'tessera'
import { fastifySession } from 'tessera/adapters/fastify'

/** What the app keeps in a session. */
export type TutorialSession = { username?: string }

// Types `request.session` across the app (in your app: `declare module 'tessera/adapters/fastify'`).
declare module 'tessera/adapters/fastify' {
  interface AppSession extends TutorialSession {}
}

/** The tutorial app, with sessions from `sessions`. */
export async function createApp(sessions: Sessions<TutorialSession>): Promise<FastifyInstance> {
  const app = Fastify()
  // Fastify parses JSON and text only; a form post is a few lines away.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  )
  await app.register(fastifySession, { sessions })

  app.get('/', async (request, reply) => {
    const username = request.session.get('username')
    return reply
      .type('text/html')
      .send(
        username
          ? `<p>Logged in as ${escapeHtml(username)}</p><p><a href="/logout">Log out</a></p>`
          : '<p>You are not logged in</p><p><a href="/login">Log in</a></p>',
      )
  })

  app.get('/login', async (_request, reply) => reply.type('text/html').send(loginForm))

  app.post<{ Body: { username?: string } }>('/login', async (request, reply) => {
    const username = (request.body?.username ?? '').trim()
    if (!username) return reply.code(400).type('text/html').send(loginForm)
    request.session.regenerate()
    request.session.set('username', username)
    return reply.redirect('/')
  })

  app.get('/logout', async (request, reply) => {
    request.session.pop('username')
    return reply.redirect('/')
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
