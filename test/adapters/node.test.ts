import { createServer } from 'node:http'
import { withSession } from '../../src/adapters/node.js'
import { describeAdapter, suiteRoute } from '../contracts/adapter.js'
import { listen } from '../support/http.js'

describeAdapter('node:http', async (sessions) => {
  const server = createServer(
    withSession(sessions, (req, res, session) => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const route = suiteRoute(req.method, url.pathname)
      if (!route) {
        res.statusCode = 404
        return res.end('not found')
      }
      const reply = route.handle(session, url.searchParams)
      if ('text' in reply) return res.end(reply.text)
      if ('json' in reply) {
        res.setHeader('content-type', 'application/json')
        return res.end(JSON.stringify(reply.json))
      }
      res.writeHead(303, { location: reply.redirect })
      return res.end()
    }),
  )
  return listen(server)
})
