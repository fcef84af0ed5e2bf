import { withSession } from '../../src/adapters/fetch.js'
import { describeAdapter, suiteRoute } from '../contracts/adapter.js'

describeAdapter('fetch', async (sessions, options) => {
  const handler = withSession(
    sessions,
    async (request, session) => {
      const url = new URL(request.url)
      const route = suiteRoute(request.method, url.pathname)
      if (!route) return new Response('not found', { status: 404 })
      const reply = route.handle(session, url.searchParams)
      if ('text' in reply) return new Response(reply.text)
      if ('json' in reply) return Response.json(reply.json)
      return new Response(null, { status: 303, headers: { location: reply.redirect } })
    },
    { trustProxy: options?.trustProxy === false ? false : 2 },
  )
  return {
    fetch: (path, init) => handler(new Request(`http://localhost${path}`, init)),
    close: async () => {},
  }
})
