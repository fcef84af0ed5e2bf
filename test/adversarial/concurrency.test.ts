/**
 * Security test plan, section 4.5: concurrency (C-01, C-02).
 */
import { expect, it } from 'vitest'
import type { Result, TestApp } from './app.js'
import {
  expectAnon,
  expectUser,
  forModes,
  installInvariants,
  login,
  pool,
  useApp,
  whoami,
} from './harness.js'

installInvariants()

async function value(app: TestApp, cookie: string, k: string): Promise<unknown> {
  return (await app.request(`/s/get?k=${k}`, { cookie })).json<{ value: unknown }>().value
}

let barrierSeq = 0

forModes('ALL', (mode) => {
  const h = useApp(mode)
  const ck = mode.group === 'CK'

  it(
    ck
      ? 'C-01 (CK, documented limitation) two writers loaded before either saved: each response carries one complete valid cookie; the client keeps one of the two states'
      : 'C-01 two writers loaded before either saved (A saves after 50 ms, B after 100 ms) → both keys kept, both 200',
    async () => {
      const app = h.app
      const cookie = await login(app, 'alice')
      const barrier = `c01-${mode.name}-${++barrierSeq}`
      const [a, b] = await Promise.all([
        app.request(`/s/slow-set?k=a&v=1&ms=50&barrier=${barrier}&n=2`, { method: 'POST', cookie }),
        app.request(`/s/slow-set?k=b&v=2&ms=100&barrier=${barrier}&n=2`, {
          method: 'POST',
          cookie,
        }),
      ])
      expect(a.status).toBe(200)
      expect(b.status).toBe(200)
      if (!ck) {
        expect(await value(app, cookie, 'a')).toBe('1')
        expect(await value(app, cookie, 'b')).toBe('2')
        expectUser(await whoami(app, cookie), 'alice')
        return
      }
      // Pinned: design decision 6.3 and the README ("Cookie sessions … cannot prevent lost
      // updates"). Each response is a whole, valid cookie; whichever the browser keeps wins.
      for (const [res, mine, other] of [
        [a, 'a', 'b'],
        [b, 'b', 'a'],
      ] as [Result, string, string][]) {
        expect(res.setCookies.length).toBe(1)
        const state = res.cookie()
        expectUser(await whoami(app, state), 'alice')
        expect(await value(app, state, mine)).toBe(mine === 'a' ? '1' : '2')
        expect(await value(app, state, other), 'the other write is lost in this cookie').toBeNull()
      }
    },
  )
})

forModes(['SRV'], (mode) => {
  const h = useApp(mode)

  it('C-02 200 writes of k_i=i at concurrency 50 plus 100 concurrent incr on one session → all 200 keys, 1 ≤ n ≤ 100, parseable, 0 5xx', async () => {
    const app = h.app
    const cookie = await login(app, 'alice')
    const tasks: (() => Promise<Result>)[] = []
    for (let i = 0; i < 200; i++) {
      tasks.push(() => app.request(`/s/set?k=k_${i}&json=1&v=${i}`, { method: 'POST', cookie }))
      if (i % 2 === 0) tasks.push(() => app.request('/s/incr?k=n', { method: 'POST', cookie }))
    }
    const results = await pool(tasks, 50)
    const statuses = new Map<number, number>()
    for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    expect(Object.fromEntries(statuses), 'statuses').toEqual({ 200: 300 })
    const session = app.sessions.open(cookie)
    await session.load()
    for (let i = 0; i < 200; i++) expect(session.get(`k_${i}`), `k_${i}`).toBe(i)
    // Pinned (plan: "n == 100 with the atomic update API, otherwise 1 ≤ n ≤ 100 and
    // documented"): tessera has no atomic increment; a read-modify-write of one key is
    // last-writer-wins, as the README states ("when both set the same key, the later write
    // wins"), so concurrent increments may be lost, never corrupted.
    const n = session.get('n') as number
    expect(Number.isInteger(n) && n >= 1 && n <= 100, `n = ${n}`).toBe(true)
    expectUser(await whoami(app, cookie), 'alice')
  })
})

forModes(['SRV'], (mode) => {
  const h = useApp(mode)

  for (const op of ['set', 'regenerate', 'markModified', 'setUser', 'flash', 'csrf', 'permanent']) {
    it(`C-03 a session revoked while a request ran is never written back, through ${op}: the response deletes the cookie, nothing is listed`, async () => {
      const app = h.app
      const cookie = await login(app, 'alice')

      const res = await app.request(`/s/revoked-during?op=${op}`, { method: 'POST', cookie })

      expect(res.status).toBe(200)
      expect(res.setCookies, 'the response deletes the cookie').toEqual([
        expect.stringMatching(/^[\w-]+=;.*Max-Age=0/),
      ])
      expectAnon(await whoami(app, cookie), 'the revoked cookie')
      if (app.sessions.mode !== 'store') throw new Error('this case runs with a store')
      expect(await app.sessions.listByUser('alice')).toEqual([])
      expect(await app.sessions.listByUser('alice-2')).toEqual([])
    })
  }
})
