/**
 * The soak (security test plan L-01): the demo site in its own process, on one server-side
 * store, under `concurrency` browsers for `duration` seconds over loopback HTTP. Each browser
 * logs in, reads, adds notes and logs out (about 5 / 70 / 20 / 5 %); afterwards the run checks
 * that no request got a 5xx, that no acknowledged note went missing, that the store holds
 * exactly the sessions the browsers still hold a cookie for, and that the server's memory stopped
 * growing after warm-up. `npm run soak` and `test/soak/soak.test.ts` both run it.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { maxListLimit, type Store } from '../../src/stores/types.js'
import {
  type Action,
  Browser,
  newTally,
  noteAnomaly,
  type Tally,
  Unavailable,
  Unexpected,
} from './browser.js'
import { type MemorySample, startDemo } from './demo-process.js'
import type { SoakStoreKind } from './stores.js'

export interface SoakOptions {
  /** Seconds of load. */
  duration: number
  /** Browsers at once, each with one request in flight. */
  concurrency: number
  /** Stop sooner once this many requests were sent. */
  maxRequests: number
  /** Seconds of load before the baseline memory sample. @default a quarter of `duration`, 1–15 s */
  warmup?: number
  /** Seeds each browser's choices. @default a random seed */
  seed?: number
  /** The most the server's heap (after a full GC) may grow from warm-up to the end, in MB. */
  maxHeapGrowth: number
  /** The same for its resident set size; null: not checked. */
  maxRssGrowth: number | null
  /**
   * A fault injected `at` seconds into the run (say, a Redis master killed). Its 503s with
   * Retry-After are then expected, and counted apart; what the outage cost is counted by each
   * browser as it recovers (lost notes, lost sessions).
   */
  fault?: { at: number; inject: () => Promise<void> }
}

export interface SoakResult {
  store: string
  seed: number
  requests: number
  seconds: number
  perSecond: number
  /** Milliseconds, every request of the run. */
  p50: number
  p99: number
  /** Actions taken, by kind. */
  actions: Record<Action, number>
  serverErrors: number
  acknowledgedWrites: number
  lostWrites: number
  anomalies: number
  /** Sessions the browsers hold a cookie for at the end. */
  liveSessions: number
  /** Of those, sessions of browsers not logged in: none, since a look at the login form makes none. */
  anonymousSessions: number
  /** Sessions the store holds at the end. */
  storeRecords: number
  /** Held by a browser, missing from the store. */
  missingRecords: number
  /** In the store, held by no browser: a leak. */
  strayRecords: number
  /** The server's memory after a full GC: medians of the first and last samples after warm-up. */
  memory: { warm: MemorySample; end: MemorySample; samples: MemorySample[] }
  /** Every check that failed, as a sentence; empty when the run passed. */
  failures: string[]
  /** The first anomalies and lost writes, and what the server logged, for a failed run. */
  examples: string[]
  /** With a fault: its 503s (with Retry-After), and seconds from the fault to the last one. */
  outage?: { unavailable: number; seconds: number; silentLogouts: number }
}

/**
 * How a browser that is logged in picks its next action. A logged-out browser always logs in
 * next, so logins run at about the logout rate plus the rare switch of user here: about 5 %
 * of all actions each.
 */
const weights: readonly [Action, number][] = [
  ['read', 70],
  ['write', 20],
  ['logout', 4.5],
  ['login', 1],
]

/** Runs the soak on one store. Rejects only when the run could not be set up. */
export async function runSoak(kind: SoakStoreKind, options: SoakOptions): Promise<SoakResult> {
  const seed = options.seed ?? randomBytes(4).readUInt32LE()
  const warmup =
    options.warmup ?? Math.min(15, Math.max(1, options.duration / 4), options.duration / 2)
  const dir = mkdtempSync(join(tmpdir(), 'tessera-soak-'))
  const store = await kind.prepare(dir)
  try {
    const demo = await startDemo({
      ...store.env,
      SECRET_KEY: randomBytes(32).toString('base64url'),
      DATA_DIR: dir,
    })
    let stopping = false
    let workers: Promise<void>[] = []
    try {
      const tally = newTally()
      const users = Math.max(1, Math.ceil(options.concurrency / 2))
      const browsers = Array.from(
        { length: options.concurrency },
        (_, i) => new Browser(`browser ${i}`, demo.origin, tally, options.fault !== undefined),
      )
      const run = `${kind.name}-${seed.toString(36)}`
      let written = 0
      const started = performance.now()

      workers = browsers.map(async (browser, i) => {
        const random = mulberry32(seed + i)
        const anyUser = () => `user-${Math.floor(random() * users)}`
        while (!stopping) {
          const loggedOut = browser.username === null
          // One logged-out browser in ten only looks at the login form this turn.
          const action = loggedOut ? (random() < 0.1 ? 'read' : 'login') : pick(random)
          tally.actions[action]++
          let attempted: string | null = null
          try {
            if (loggedOut && action === 'read') await browser.viewLoginForm()
            else if (action === 'login') await browser.login(anyUser())
            else if (action === 'read') await browser.read(random() < 0.1)
            else if (action === 'write') {
              attempted = `${run}-${i}-${++written}`
              await browser.write(attempted)
            } else await browser.logout()
          } catch (error) {
            if (error instanceof Unavailable) {
              await browser.recover(action, attempted).catch((e: unknown) => {
                noteAnomaly(tally, e)
                return browser.resync().catch(() => {})
              })
              continue
            }
            noteAnomaly(tally, error)
            await browser.resync().catch(() => {})
          }
        }
      })

      const deadline = started + options.duration * 1000
      let faultAt: number | null = null
      const fault = options.fault
      const injecting = fault
        ? sleep(fault.at * 1000).then(() => {
            faultAt = performance.now()
            return fault.inject()
          })
        : Promise.resolve()
      await waitFor(() => performance.now() >= started + warmup * 1000, tally, options)
      // The leak check uses the server's heap right after a full GC: what it still holds,
      // whenever the collector last ran. RSS alone is a poor signal over a minute (V8 grows its
      // heap in steps, and neither V8 nor malloc hands freed pages back soon, so RSS mostly
      // shows the high-water mark), but it is sampled too (the figure /proc/PID/status gives
      // as VmRSS), because native memory such as SQLite's page cache shows only there.
      // Both still swing by several MB from one sample to the next with the requests in flight,
      // so ten samples are taken (fewer in a short run, one a second at most), all under load,
      // and the median of the first third is compared with that of the last third: a leak
      // shows as a rise, a swing does not.
      const samples = [await demo.memory()]
      const every = Math.max(1000, (deadline - performance.now()) / 9)
      for (let next = performance.now() + every; ; next += every) {
        await waitFor(() => performance.now() >= Math.min(next, deadline), tally, options)
        samples.push(await demo.memory())
        if (performance.now() >= deadline || tally.requests >= options.maxRequests) break
      }
      const third = Math.max(1, Math.floor(samples.length / 3))
      const warm = median(samples.slice(0, third))
      const end = median(samples.slice(-third))
      await injecting
      stopping = true
      await Promise.all(workers)
      const seconds = (performance.now() - started) / 1000

      // Quiet now: every browser reads its notes once more, and every user's list is counted.
      await verify(browsers, tally)
      const records = await storedKeys(store.open())
      // Counted from the cookies the browsers hold, not from logins and logouts, so anonymous
      // sessions are counted exactly too: the logout's (carrying its message) lives until the
      // next page shows the message and deletes it, and a look at the login form makes none
      // (its CSRF token rides in a cookie of its own). Browsers finish what they started before
      // the run stops, so by now every cookie is a logged-in one.
      const held = new Set(
        browsers
          .map((b) => b.cookieValue)
          .filter(Boolean)
          .map(sessionKey),
      )
      const missingRecords = [...held].filter((k) => !records.has(k)).length
      const strayRecords = [...records].filter((k) => !held.has(k)).length

      const sorted = Float64Array.from(tally.latencies).sort()
      const result: SoakResult = {
        store: kind.name,
        seed,
        requests: tally.requests,
        seconds,
        perSecond: tally.requests / seconds,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        actions: tally.actions,
        serverErrors: tally.serverErrors,
        acknowledgedWrites: tally.acknowledgedWrites,
        lostWrites: tally.lostWrites,
        anomalies: tally.anomalies,
        liveSessions: held.size,
        anonymousSessions: browsers.filter((b) => b.cookieValue && b.username === null).length,
        storeRecords: records.size,
        missingRecords,
        strayRecords,
        memory: { warm, end, samples },
        failures: [],
        examples: tally.examples,
        ...(faultAt === null
          ? {}
          : {
              outage: {
                unavailable: tally.unavailable,
                seconds: ((tally.lastUnavailableAt ?? faultAt) - faultAt) / 1000,
                silentLogouts: tally.silentLogouts,
              },
            }),
      }
      result.failures = failuresOf(result, options)
      if (result.failures.length > 0) {
        result.examples.push(...demo.errorLines().map((line) => `server: ${line}`))
      }
      return result
    } finally {
      stopping = true
      await Promise.all(workers)
      await demo.stop()
    }
  } finally {
    try {
      await store.cleanup()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The checks of L-01, as sentences for those that failed. */
function failuresOf(r: SoakResult, options: SoakOptions): string[] {
  const failures: string[] = []
  if (r.serverErrors > 0) failures.push(`5xx responses: ${r.serverErrors}`)
  if (r.anomalies > r.serverErrors) {
    failures.push(`other wrong answers or network errors: ${r.anomalies - r.serverErrors}`)
  }
  if (r.lostWrites > 0) {
    failures.push(`acknowledged notes lost: ${r.lostWrites} of ${r.acknowledgedWrites}`)
  }
  if (r.acknowledgedWrites === 0) failures.push('no note was acknowledged: the mix did not run')
  if (r.missingRecords > 0) {
    failures.push(`sessions a browser holds but the store lost: ${r.missingRecords}`)
  }
  if (r.strayRecords > 0) {
    failures.push(`store records no browser holds (leaked): ${r.strayRecords}`)
  }
  const mb = (bytes: number) => bytes / 2 ** 20
  const heap = mb(r.memory.end.heapUsed - r.memory.warm.heapUsed)
  if (!r.memory.end.collected) failures.push('the server could not run a GC before sampling')
  if (heap > options.maxHeapGrowth) {
    failures.push(
      `the server's heap grew by ${heap.toFixed(1)} MB after warm-up (at most ${options.maxHeapGrowth})`,
    )
  }
  const rss = mb(r.memory.end.rss - r.memory.warm.rss)
  if (options.maxRssGrowth !== null && rss > options.maxRssGrowth) {
    failures.push(
      `the server's RSS grew by ${rss.toFixed(1)} MB after warm-up (at most ${options.maxRssGrowth})`,
    )
  }
  return failures
}

/**
 * Rereads every logged-in browser's notes, and checks that "Your sessions" lists as many
 * sessions for each user as there are browsers logged in as that user: the user index holds
 * no stale entry. What goes wrong counts as an anomaly.
 */
async function verify(browsers: Browser[], tally: Tally): Promise<void> {
  const byUser = new Map<string, Browser[]>()
  for (const browser of browsers) {
    if (browser.username === null) continue
    byUser.set(browser.username, [...(byUser.get(browser.username) ?? []), browser])
    await browser.read(false).catch((error: unknown) => noteAnomaly(tally, error))
  }
  for (const [user, list] of byUser) {
    try {
      const listed = await list[0]!.listedSessions()
      if (listed !== list.length) {
        throw new Unexpected(
          `"Your sessions" of ${user} lists ${listed}, but ${list.length} browsers hold one`,
        )
      }
    } catch (error) {
      noteAnomaly(tally, error)
    }
  }
}

/** The keys of every live session in the store, read through the Store API. */
async function storedKeys(store: Store): Promise<Set<string>> {
  try {
    if (!store.list) throw new Error(`the ${store.name} store cannot list its sessions`)
    const list = await store.list({ limit: maxListLimit })
    return new Set(list.map((s) => s.key))
  } finally {
    await store.close?.()
  }
}

/**
 * The store key of a session cookie: the SHA-256 of the id before the dot, as the library
 * keys it, so the browsers' cookies and the store's records compare one to one.
 */
function sessionKey(cookieValue: string): string {
  const id = cookieValue.slice(0, cookieValue.indexOf('.'))
  return createHash('sha256').update(id).digest('base64url')
}

/** Resolves once `done()` holds or the run has sent its most requests. */
async function waitFor(done: () => boolean, tally: Tally, options: SoakOptions): Promise<void> {
  while (!done() && tally.requests < options.maxRequests) await sleep(50)
}

function pick(random: () => number): Action {
  const total = weights.reduce((sum, [, w]) => sum + w, 0)
  let r = random() * total
  for (const [action, w] of weights) {
    r -= w
    if (r < 0) return action
  }
  return 'read'
}

/** The median of each figure of `samples`. */
function median(samples: MemorySample[]): MemorySample {
  const mid = (values: number[]) => {
    const sorted = values.sort((a, b) => a - b)
    const half = sorted.length >> 1
    return sorted.length % 2 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2
  }
  return {
    heapUsed: mid(samples.map((s) => s.heapUsed)),
    external: mid(samples.map((s) => s.external)),
    rss: mid(samples.map((s) => s.rss)),
    collected: samples.every((s) => s.collected),
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

/** A small seeded PRNG, so a run's choices can be replayed with `--seed`. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
