/**
 * The proxy on the Edge runtime, for a deployment that wants it there: Next 16 runs `proxy.ts`
 * on Node.js only, while the deprecated `middleware.ts` still runs on the Edge runtime by
 * default. To use it, move this file to the app's root as `middleware.ts` in place of
 * `proxy.ts` (Next refuses both) and serve the app with `SESSION_STORE=cookie`: no store is
 * reachable from the edge, so the session lives in its cookie. The bundler picks tessera's
 * edge build through its `edge-light` export condition: Web Crypto, no `node:` import. The
 * cookies it reads and writes are the ones the app's Node.js side (lib/sessions.ts) writes and
 * reads: same secret, same defaults.
 *
 * A logged-in session is made permanent here, so its cookie carries an Expires that this
 * middleware slides forward on every page request: the user stays logged in until `maxAge`
 * (31 days) after their last visit, not only until the browser closes.
 * @module
 */
import { type NextRequest, NextResponse } from 'next/server'
import { createSessions } from 'tessera'
import { sessionProxy } from 'tessera/adapters/next'

let handle: ((request: NextRequest) => Promise<Response>) | undefined

export function middleware(request: NextRequest): Promise<Response> {
  // Made on the first request: the build must not need the secret.
  handle ??= sessionProxy(edgeSessions(), (_request, session) => {
    if (session.get('username') !== undefined) session.permanent = true
    return NextResponse.next()
  })
  return handle(request)
}

function edgeSessions() {
  const secret = process.env.SECRET_KEY
  if (!secret) throw new Error('SECRET_KEY is not set: make one with `npx tessera secret`')
  if (process.env.SESSION_STORE !== 'cookie') {
    throw new Error(
      'the Edge middleware serves cookie sessions only: start the app with SESSION_STORE=cookie, ' +
        'or keep proxy.ts (Node.js) for a store',
    )
  }
  return createSessions<{ username?: string }>({ secret })
}

export const config = {
  // Pages only: Next's own assets carry no session.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
