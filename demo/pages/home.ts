/**
 * `/`: who is logged in, with their notes, or what the site is for.
 * @module
 */
import { csrfInput } from 'tessera'
import type { Routes, Site } from '../site.js'
import { homeAnonymous, homeUser } from '../views.js'

export function homeRoutes(site: Site): Routes {
  return {
    '/': {
      GET(ctx) {
        const username = ctx.session.get('username')
        const body = username
          ? homeUser({
              username,
              notes: ctx.session.get('notes') ?? [],
              csrfField: csrfInput(ctx.session),
              label: site.storeLabel,
              inspector: site.inspector,
            })
          : homeAnonymous(site.storeLabel, site.inspector)
        site.render(ctx, 200, username ? `Logged in as ${username}` : 'Home', body, 'home')
      },
    },
  }
}
