/**
 * The session inspector (`/inspect`): what the session holds and where, for learners. On in
 * development only; the page itself is drawn by `../inspector.ts`.
 * @module
 */
import { csrfToken } from 'tessera'
import { inspectorBody } from '../inspector.js'
import type { Routes, Site } from '../site.js'

export function inspectRoutes(site: Site): Routes {
  const { sessions } = site
  return {
    '/inspect': {
      async GET(ctx) {
        const { session } = ctx
        const snapshot = session.toJSON() as Record<string, unknown>
        const changes: string[] = []
        // The header's logout form needs the token; made now, so the page can say so. Nothing
        // on this page wrote to the session before, so a change here is the token being made.
        if (session.get('username')) {
          const modified = session.isModified
          csrfToken(session)
          if (!modified && session.isModified) {
            changes.push('makes the CSRF token for this page’s forms')
          }
        }
        if (Object.keys(snapshot).some((k) => k === '_flashes' || k.startsWith('_flash:'))) {
          changes.push('takes out the messages shown at the top of this page')
        }
        const body = await inspectorBody({
          sessions,
          session,
          cookieValues: cookieValues(ctx.req.headers.cookie, sessions.cookieName),
          cookieCheck: site.cookieCheck,
          snapshot,
          changes,
          now: Date.now(),
        })
        site.render(ctx, 200, 'Session inspector', body, 'inspect')
      },
    },
  }
}

/**
 * Every value of the cookie `name` in a `Cookie` header, in order. All of them, where a cookie
 * parser keeps one per name: a browser may send two (one planted by a sibling site), and the
 * page shows the one the server could have used.
 */
function cookieValues(header: string | undefined, name: string): string[] {
  const found: string[] = []
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 1 || pair.slice(0, eq).trim() !== name) continue
    const value = pair.slice(eq + 1).trim()
    found.push(
      value.length > 1 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value,
    )
  }
  return found
}
