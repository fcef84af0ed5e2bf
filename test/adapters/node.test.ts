import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { withSession } from '../../src/adapters/node.js'
import { describeAdapter } from '../contracts/adapter.js'

/** Starts `server` on a free loopback port and returns a handle for the suite. */
export async function listen(server: Server) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    fetch: (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

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
