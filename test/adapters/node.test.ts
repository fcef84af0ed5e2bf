import { createServer } from 'node:http'
import { withSession } from '../../src/adapters/node.js'
import { describeAdapter } from '../contracts/adapter.js'
import { listen } from '../support/http.js'

describeAdapter('node:http', async (sessions) => {
  const server = createServer(
    withSession(sessions, (req, res, session) => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /public':
          return res.end('public')
        case 'GET /whoami':
          res.setHeader('content-type', 'application/json')
          return res.end(JSON.stringify({ user: session.get('user') ?? null }))
        case 'POST /login': {
          const user = url.searchParams.get('user') ?? ''
          session.regenerate()
          session.set('user', user)
          session.setUser(user)
          res.writeHead(303, { location: '/whoami' })
          return res.end()
        }
        case 'POST /set':
          session.set(url.searchParams.get('k')!, url.searchParams.get('v'))
          return res.end('ok')
        case 'POST /logout':
          session.destroy()
          return res.end('bye')
        default:
          res.statusCode = 404
          return res.end('not found')
      }
    }),
  )
  return listen(server)
})
