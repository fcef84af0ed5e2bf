import { withSession } from '../../src/adapters/fetch.js'
import { describeAdapter } from '../contracts/adapter.js'

describeAdapter('fetch', async (sessions) => {
  const handler = withSession(sessions, async (request, session) => {
    const url = new URL(request.url)
    const route = `${request.method} ${url.pathname}`
    switch (route) {
      case 'GET /public':
        return new Response('public')
      case 'GET /whoami':
        return Response.json({ user: session.get('user') ?? null })
      case 'POST /login': {
        const user = url.searchParams.get('user') ?? ''
        session.regenerate()
        session.set('user', user)
        session.setUser(user)
        return new Response(null, { status: 303, headers: { location: '/whoami' } })
      }
      case 'POST /set':
        session.set(url.searchParams.get('k')!, url.searchParams.get('v'))
        return new Response('ok')
      case 'POST /logout':
        session.destroy()
        return new Response('bye')
      default:
        return new Response('not found', { status: 404 })
    }
  })
  return {
    fetch: (path, init) => handler(new Request(`http://localhost${path}`, init)),
    close: async () => {},
  }
})
