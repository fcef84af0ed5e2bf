/**
 * Security test plan, section 4.7, L-02 at a reduced count (bounded in time): an anonymous
 * flood must create nothing, and expired sessions must go at the next sweep.
 *
 * Counts: 200 cookieless requests, 200 with random unknown ids and 100 anonymous POST /logout
 * per store, 2 500 over the five stores (the plan: 50 000 + 50 000 + 5 000), then 200 sessions
 * left to expire per store (the plan: 10 000), to keep the suite within its time budget.
 * Expiry: the memory, file and SQLite stores run on the fake clock with the plan's 1-minute
 * idle timeout; Redis and PostgreSQL expire on real time, so they get a 1-second idle timeout
 * and the test waits for it. L-01 (60 s at concurrency 50) is not part of this suite: it is a
 * load test, not a bounded functional case.
 */
import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { type Result, sleep, type TestApp } from './app.js'
import { closeTracked, forModes, installInvariants, pool, trackedApp, useApp } from './harness.js'

installInvariants()

const clocked = new Set(['memory', 'file', 'sqlite'])

forModes(['SRV'], (mode) => {
  const h = useApp(mode)

  it('L-02 flood: 200 cookieless + 200 unknown ids + 100 anonymous logouts → 0 new records, 0 store writes, no Set-Cookie that establishes a session', async () => {
    const app = h.app
    const name = app.sessions.cookieName
    const records = await app.raw!.count()
    const writes = app.spy!.writes()
    const started = performance.now()
    const kinds: ('cookieless' | 'unknown id' | 'anonymous logout')[] = []
    const tasks: (() => Promise<Result>)[] = []
    for (let i = 0; i < 200; i++) {
      kinds.push('cookieless')
      tasks.push(() => app.request('/whoami'))
      const id = `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`
      kinds.push('unknown id')
      tasks.push(() => app.request('/whoami', { cookie: `${name}=${id}` }))
      if (i % 2 === 0) {
        kinds.push('anonymous logout')
        tasks.push(() => app.request('/logout', { method: 'POST' }))
      }
    }
    const results = await pool(tasks, 50)
    expect(performance.now() - started, 'bounded in time').toBeLessThan(30_000)
    const bad: string[] = []
    results.forEach((r, i) => {
      const kind = kinds[i]!
      const status = kind === 'anonymous logout' ? 303 : 200
      if (r.status !== status) bad.push(`${kind} ${r.id}: ${r.status}`)
      if (kind === 'unknown id') {
        // A refused cookie may be deleted (ANON allows it); nothing else is set.
        for (const header of r.setCookies) if (!header.startsWith(`${name}=;`)) bad.push(header)
        if (r.setCookies.length > 1) bad.push(`${kind} ${r.id}: ${r.setCookies.length} Set-Cookie`)
      } else if (r.setCookies.length > 0) {
        bad.push(`${kind} ${r.id} got a Set-Cookie: ${r.setCookies[0]}`)
      }
    })
    expect(bad).toEqual([])
    expect(app.spy!.writes() - writes, 'store writes').toBe(0)
    expect(await app.raw!.count(), 'records').toBe(records)
  })

  it('L-02 expiry: 200 sessions with a short idle timeout expire; after one sweep the store holds only the live ones; the sweep blocks no request long', async () => {
    const fast = clocked.has(mode.name)
    const idle = fast ? 60 : 1
    const app: TestApp = await trackedApp(mode, {
      sessions: { idleTimeout: idle, maxAge: idle },
      // Real-time stores: a clock that starts at real time, so the wait below is just `idle`.
      ...(fast ? {} : { clockStart: Date.now() }),
    })
    try {
      const create = () =>
        app.request(`/s/set?k=v&v=${randomBytes(4).toString('hex')}`, { method: 'POST' })
      const doomed = await pool(
        Array.from({ length: 200 }, () => create),
        50,
      )
      expect(doomed.every((r) => r.status === 200)).toBe(true)
      const createdAt = app.clock.now()
      if (fast) {
        app.clock.advance((idle + 1) * 1000)
      } else {
        // The stores expire on real time; the fake clock is a little ahead of it.
        await sleep(Math.max(0, createdAt + idle * 1000 + 150 - Date.now()))
        app.clock.advance(idle * 1000 + 150)
      }
      const live = await pool(
        Array.from({ length: 10 }, () => create),
        10,
      )
      const liveCookies = live.map((r) => r.cookie())
      // One sweep, with requests running beside it.
      const during = Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          app.request('/whoami', { cookie: liveCookies[i % 10]! }),
        ),
      )
      const swept = app.spy!.prune!()
      const [results] = await Promise.all([during, swept])
      for (const r of results) {
        expect(r.status).toBe(200)
        expect(r.json<{ size: number }>().size).toBe(1)
      }
      // The plan's bound is 100 ms; a busy CI machine gets a generous one (section 5: timing
      // gates only on generous bounds).
      expect(
        Math.max(...results.map((r) => r.ms)),
        'slowest request during the sweep (ms)',
      ).toBeLessThan(500)
      expect(await app.raw!.count(), 'records after one sweep').toBe(10)
    } finally {
      await closeTracked(app)
    }
  })
})
