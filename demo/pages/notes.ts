/**
 * `/notes`: short notes kept in the session, to watch it grow (and, in a cookie, hit its limit).
 * @module
 */
import { flash } from 'tessera'
import type { Routes, Site } from '../site.js'
import { maxNote, maxNotes } from '../views.js'

export function notesRoutes(site: Site): Routes {
  return {
    '/notes': {
      async POST(ctx) {
        const form = await site.postedForm(ctx)
        if (!form) return
        const { session } = ctx
        if (!session.get('username')) return site.toLogin(ctx, null)
        const note = (form.get('note') ?? '').trim()
        const notes = session.get('notes') ?? []
        if (!note) flash(session, 'Write something first.', 'error')
        else if ([...note].length > maxNote)
          flash(session, `A note has at most ${maxNote} characters.`, 'error')
        else if (notes.length >= maxNotes)
          flash(session, `Your session keeps at most ${maxNotes} notes.`, 'error')
        else {
          session.set('notes', [...notes, note])
          flash(session, 'Note saved in your session.', 'success')
        }
        site.redirect(ctx.res, '/#notes')
      },
    },

    '/notes/clear': {
      async POST(ctx) {
        if (!(await site.postedForm(ctx))) return
        const { session } = ctx
        if (!session.get('username')) return site.toLogin(ctx, null)
        if (session.delete('notes')) flash(session, 'Notes removed.', 'success')
        site.redirect(ctx.res, '/#notes')
      },
    },
  }
}
