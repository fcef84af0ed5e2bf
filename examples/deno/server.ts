/**
 * Flask's session tutorial on Deno: the Hono app of `examples/hono` with cookie sessions,
 * served by `Deno.serve` on HOST:PORT (127.0.0.1:8000).
 * @module
 */
import { edgeSessions } from '../edge-sessions.js'
import { createApp } from '../hono/app.js'

/** The part of Deno's global this example uses (the repository type-checks with Node's types). */
declare const Deno: {
  env: { get(name: string): string | undefined }
  serve(
    options: { hostname: string; port: number; onListen(address: { port: number }): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): unknown
}

const env = (name: string) => Deno.env.get(name)
const sessions = edgeSessions({
  SECRET_KEY: env('SECRET_KEY'),
  COOKIE_FORMAT: env('COOKIE_FORMAT'),
  CRYPTO: env('CRYPTO'),
})
const app = createApp(sessions)
const hostname = env('HOST') ?? '127.0.0.1'

Deno.serve(
  {
    hostname,
    port: Number(env('PORT') ?? 8000),
    onListen: ({ port }) =>
      console.log(`Deno example on http://${hostname}:${port} (sessions: ${sessions.description})`),
  },
  app.fetch,
)
