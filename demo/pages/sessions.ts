/**
 * "Your sessions" (`/sessions`): every browser logged in as this user, each of which can be
 * logged out from here. Only server-side sessions can be listed or ended one by one; revocable
 * cookie sessions can all be ended at once; in plain cookie mode the page explains why neither.
 * @module
 */
import { csrfInput, flash } from 'tessera'
import { describeDevice } from '../devices.js'
import type { Routes, Site } from '../site.js'
import { sessionsCookiePage, sessionsPage } from '../views.js'

export function sessionsRoutes(site: Site): Routes {
  const { sessions } = site
  return {
    '/sessions': {
      async GET(ctx) {
        const { session } = ctx
        const username = session.get('username')
        if (!username) return site.toLogin(ctx, '/sessions')
        const now = Date.now()
        if (sessions.mode !== 'store') {
          const body = sessionsCookiePage({
            username,
            label: site.storeLabel,
            userAgent: ctx.req.headers['user-agent'] ?? null,
            ip: ctx.req.socket.remoteAddress ?? null,
            issuedAt: session.createdAt,
            now,
            revocable: site.revocable ? { csrfField: csrfInput(session) } : null,
          })
          return site.render(ctx, 200, 'Your sessions', body, 'sessions')
        }
        const list = await sessions.listByUser(username)
        const body = sessionsPage({
          username,
          list,
          currentKey: sessions.keyOf(session),
          csrfField: csrfInput(session),
          label: site.storeLabel,
          now,
        })
        site.render(ctx, 200, 'Your sessions', body, 'sessions')
      },
    },

    '/sessions/revoke': {
      async POST(ctx) {
        const form = await site.postedForm(ctx)
        if (!form) return
        const { session } = ctx
        const username = session.get('username')
        if (!username) return site.toLogin(ctx, '/sessions')
        if (sessions.mode !== 'store') return site.redirect(ctx.res, '/sessions')
        const key = form.get('key') ?? ''
        // Only this user's own sessions: the key must be on their list.
        const target = (await sessions.listByUser(username)).find((s) => s.key === key)
        if (!target) {
          flash(session, 'That session had already ended.', 'info')
        } else if (key === sessions.keyOf(session)) {
          site.logout(session)
          return site.redirect(ctx.res, '/')
        } else {
          await sessions.destroy(key)
          flash(session, `Logged out ${describeDevice(target.userAgent)}.`, 'success')
        }
        site.redirect(ctx.res, '/sessions')
      },
    },

    '/sessions/revoke-others': {
      async POST(ctx) {
        if (!(await site.postedForm(ctx))) return
        const { session } = ctx
        const username = session.get('username')
        if (!username) return site.toLogin(ctx, '/sessions')
        if (site.revocable) {
          // Every cookie of this user is refused from now on, but this one, re-issued.
          await site.revocable.destroyByUser(username, { except: session })
          flash(session, 'Logged out everywhere else.', 'success')
          return site.redirect(ctx.res, '/sessions')
        }
        if (sessions.mode !== 'store') return site.redirect(ctx.res, '/sessions')
        const except = sessions.keyOf(session)
        const count = await sessions.destroyByUser(username, except === null ? {} : { except })
        flash(
          session,
          count === 0
            ? 'No other browser was logged in as you.'
            : `Logged out everywhere else: ${count === 1 ? '1 other session' : `${count} other sessions`} ended.`,
          'success',
        )
        site.redirect(ctx.res, '/sessions')
      },
    },
  }
}
