/**
 * The proxy (Next 16's name for middleware; it runs on Node.js): every page request reads the
 * session, so its expiry slides as the engine decides, which a Server Component cannot do.
 * @module
 */
import { type NextRequest, NextResponse } from 'next/server'
import { sessionProxy } from 'tessera/adapters/next'
import { sessions } from './lib/sessions'

let handle: ((request: NextRequest) => Promise<Response>) | undefined

export function proxy(request: NextRequest): Promise<Response> {
  // Made on the first request, as the sessions are: the build must not need the secret.
  handle ??= sessionProxy(sessions(), () => NextResponse.next())
  return handle(request)
}

export const config = {
  // Pages only: Next's own assets carry no session.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
