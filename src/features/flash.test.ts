import { describe, expect, it } from 'vitest'
import { createSessions } from '../session/sessions.js'
import { createMemoryStore } from '../stores/memory.js'
import { flash, getFlashedMessages } from './flash.js'

const secret = 'flash-test-secret-that-is-32-bytes!'

function cookieOf(setCookie: string | null): string {
  if (!setCookie) throw new Error('no cookie')
  return setCookie.slice(0, setCookie.indexOf(';'))
}

for (const mode of ['cookie', 'store'] as const) {
  describe(`flash messages (${mode} sessions)`, () => {
    const sessions = createSessions(
      mode === 'store' ? { secret, store: createMemoryStore({ sweepInterval: 0 }) } : { secret },
    )

    async function request(
      cookie: string | undefined,
      fn: (s: ReturnType<typeof sessions.open>) => void,
    ) {
      const session = sessions.open(cookie)
      await session.load()
      fn(session)
      const { setCookie } = await sessions.commit(session)
      if (setCookie?.includes('Max-Age=0')) return undefined
      return setCookie ? cookieOf(setCookie) : cookie
    }

    it('shows a message once, on the next request, after a redirect', async () => {
      const c1 = await request(undefined, (s) => {
        s.set('user', 'u')
        flash(s, 'You were logged in')
      })
      let shown: string[] = []
      let again: string[] = ['not asked']

      const c2 = await request(c1, (s) => {
        shown = getFlashedMessages(s)
      })
      await request(c2, (s) => {
        again = getFlashedMessages(s)
      })

      expect(shown).toEqual(['You were logged in'])
      expect(again).toEqual([])
    })

    it('keeps categories and order, and filters by category like Flask', async () => {
      const cookie = await request(undefined, (s) => {
        flash(s, 'first', 'info')
        flash(s, 'second', 'error')
        flash(s, 'third')
      })
      let pairs: [string, string][] = []
      let errors: string[] = []

      await request(cookie, (s) => {
        pairs = getFlashedMessages(s, { withCategories: true })
        errors = getFlashedMessages(s, { categoryFilter: ['error'] })
      })

      expect(pairs).toEqual([
        ['info', 'first'],
        ['error', 'second'],
        ['message', 'third'],
      ])
      expect(errors).toEqual(['second'])
    })

    if (mode === 'store') {
      it('loses no message when two concurrent requests flash', async () => {
        const cookie = await request(undefined, (s) => s.set('user', 'u'))
        const a = sessions.open(cookie)
        const b = sessions.open(cookie)
        await Promise.all([a.load(), b.load()])

        flash(a, 'from a')
        flash(b, 'from b')
        await Promise.all([sessions.commit(a), sessions.commit(b)])
        let shown: string[] = []
        await request(cookie, (s) => {
          shown = getFlashedMessages(s)
        })

        expect(shown.sort()).toEqual(['from a', 'from b'])
      })
    } else {
      it("keeps Flask's _flashes list, so a Flask app sharing the cookie shows them", async () => {
        const session = sessions.open(undefined)

        flash(session, 'hello', 'info')

        expect(session.get('_flashes')).toEqual([['info', 'hello']])
      })
    }
  })
}
