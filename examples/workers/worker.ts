/**
 * Flask's session tutorial as a Cloudflare Worker: the Hono app of `examples/hono`, with cookie
 * sessions over Web Crypto (no `nodejs_compat` needed). `config.capnp` serves it with workerd.
 * @module
 */
import { type EdgeSettings, edgeSessions } from '../edge-sessions.js'
import { createApp } from '../hono/app.js'

let app: ReturnType<typeof createApp> | null = null

export default {
  /** A Worker's bindings arrive with each request; the app is made on the first. */
  fetch(request: Request, env: EdgeSettings): Response | Promise<Response> {
    app ??= createApp(edgeSessions(env))
    return app.fetch(request)
  },
}
