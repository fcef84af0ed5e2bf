/**
 * Flask's session tutorial on Bun: the Hono app of `examples/hono` with cookie sessions,
 * served by `Bun.serve` on HOST:PORT (127.0.0.1:3000).
 * @module
 */
import { edgeSessions } from '../edge-sessions.js'
import { createApp } from '../hono/app.js'

/** The part of Bun's global this example uses (the repository type-checks with Node's types). */
declare const Bun: {
  serve(options: {
    hostname: string
    port: number
    fetch: (request: Request) => Response | Promise<Response>
  }): { port: number }
}

const sessions = edgeSessions(process.env)
const app = createApp(sessions)
const hostname = process.env.HOST ?? '127.0.0.1'
const server = Bun.serve({ hostname, port: Number(process.env.PORT ?? 3000), fetch: app.fetch })
console.log(`Bun example on http://${hostname}:${server.port} (sessions: ${sessions.description})`)
