/**
 * `/logout`: a confirmation page, since a link alone must not log anyone out, and the POST that
 * does.
 * @module
 */
import { csrfInput } from 'tessera'
import type { Routes, Site } from '../site.js'
import { logoutConfirmPage } from '../views.js'

export function logoutRoutes(site: Site): Routes {
  return {
    '/logout': {
      GET(ctx) {
        const username = ctx.session.get('username') ?? null
        const body = logoutConfirmPage(username ? csrfInput(ctx.session) : '', username)
        site.render(ctx, 200, 'Log out', body, null)
      },
      async POST(ctx) {
        if (!ctx.session.get('username')) {
          // Already logged out (revoked from another browser, say): nothing to protect.
          return site.redirect(ctx.res, '/')
        }
        if (!(await site.postedForm(ctx))) return
        site.logout(ctx.session)
        site.redirect(ctx.res, '/')
      },
    },
  }
}
