/**
 * Heap per session of the in-memory stores, measured in the server process after a full GC
 * around a burst of logins over HTTP (so each library keeps exactly what its own login keeps),
 * and the heap of a server whose sessions expire, to show it stops growing once they are swept.
 * Part of `npm run bench`; alone: `npm run bench -- --only bare --no-chart` or
 * `node --import tsx bench/memory.ts [--quick]`.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loginBody, newRunId } from './lib/config.js'
import { detectLoader, type Loader, type LoadJob, load } from './lib/load.js'
import { isMain, resultsDir } from './lib/paths.js'
import { killAll, type ServerProcess, startServer } from './lib/proc.js'

/** A desktop browser's User-Agent: what a real login brings, and tessera keeps with the session. */
export const browserUserAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'

export interface HeapResult {
  system: string
  id: string
  userAgent: boolean
  sessions: number
  bytes_per_session: number
}

export interface PlateauResult {
  seconds: number[]
  heap_mb: number[]
  sessions_created: number[]
  /** Highest heap of the last third of the run over that of the middle third, minus 1. */
  late_growth: number
  /** Highest heap of the middle third over the heap at the start, minus 1: the fill-up. */
  early_growth: number
}

export interface MemoryResults {
  heap: HeapResult[]
  plateau: PlateauResult | null
}

const heapSystems = [
  { id: 'tessera-node-memory', system: 'tessera (memory store)' },
  { id: 'express-session-memory', system: 'express-session (MemoryStore)' },
  { id: 'fastify-session', system: '@fastify/session (default store)' },
]

function loginJob(port: number, seconds: number, userAgent: boolean): LoadJob {
  return {
    port,
    path: '/login',
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(userAgent ? { 'user-agent': browserUserAgent } : {}),
    },
    body: loginBody,
    seconds,
    connections: 16,
  }
}

/**
 * Bytes of heap each new session adds, in one server process: logins in 1-second bursts until
 * there are `target` new sessions (or `maxSeconds` passed), between two full collections.
 */
async function heapPerSession(
  server: ServerProcess,
  loader: Loader,
  scratch: string,
  target: number,
  maxSeconds: number,
  userAgent: boolean,
): Promise<{ sessions: number; bytes: number }> {
  const before = await server.heap()
  let sessions = 0
  for (let s = 0; s < maxSeconds && sessions < target; s++) {
    sessions += (await load(loader, loginJob(server.port, 1, userAgent), scratch)).requests
  }
  // Let sockets close and timers fire before the collection.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const after = await server.heap()
  return { sessions, bytes: (after - before) / sessions }
}

export async function runMemory(options: {
  quick: boolean
  loader: Loader
  log: (line: string) => void
}): Promise<MemoryResults> {
  const { quick, loader, log } = options
  const runId = newRunId()
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-mem-'))
  const heap: HeapResult[] = []
  let plateau: PlateauResult | null = null
  const target = quick ? 10_000 : 40_000
  const maxSeconds = quick ? 3 : 10
  log('\nmemory: heap per session after a full GC, in the server process (logins over HTTP)')
  try {
    for (const { id, system } of heapSystems) {
      for (const userAgent of [false, true]) {
        const server = await startServer(id, runId, { exposeGc: true })
        try {
          // Warm up the login path (and its sessions) before the first reading.
          await load(loader, loginJob(server.port, 1, userAgent), scratch)
          const { sessions, bytes } = await heapPerSession(
            server,
            loader,
            scratch,
            target,
            maxSeconds,
            userAgent,
          )
          heap.push({ system, id, userAgent, sessions, bytes_per_session: Math.round(bytes) })
          log(
            `  ${system.padEnd(34)} ${userAgent ? 'with a browser User-Agent' : 'no User-Agent       '}` +
              `  ${Math.round(bytes).toString().padStart(5)} bytes/session (${sessions.toLocaleString('en-US')} sessions)`,
          )
        } finally {
          await server.stop()
        }
      }
    }

    const steps = quick ? 9 : 18
    log(
      `\nmemory: tessera's memory store, sessions idle-expire after 2 s and are swept every 1 s;` +
        ` logins for ${steps} s, heap after a full GC each second`,
    )
    const server = await startServer('tessera-node-memory-expiring', runId, { exposeGc: true })
    try {
      const series: PlateauResult = {
        seconds: [],
        heap_mb: [],
        sessions_created: [],
        late_growth: 0,
        early_growth: 0,
      }
      let created = 0
      const start = await server.heap()
      series.seconds.push(0)
      series.heap_mb.push(start / 2 ** 20)
      series.sessions_created.push(0)
      for (let s = 1; s <= steps; s++) {
        const result = await load(loader, loginJob(server.port, 1, true), scratch)
        created += result.requests
        const h = await server.heap()
        series.seconds.push(s)
        series.heap_mb.push(h / 2 ** 20)
        series.sessions_created.push(created)
      }
      // Compare the highest heap of the last third with that of the middle third: once the
      // expired sessions are swept, the heap follows the live sessions, not the created ones.
      const third = Math.floor(steps / 3)
      const middle = Math.max(...series.heap_mb.slice(third + 1, 2 * third + 1))
      const last = Math.max(...series.heap_mb.slice(2 * third + 1))
      series.late_growth = (last - middle) / middle
      series.early_growth = (middle - series.heap_mb[0]!) / series.heap_mb[0]!
      series.heap_mb = series.heap_mb.map((m) => Math.round(m * 100) / 100)
      plateau = series
      const perSecond = series.sessions_created
        .slice(1)
        .map((c, i) => c - series.sessions_created[i]!)
      log(
        `  heap MB:        ${series.heap_mb.map((m) => m.toFixed(1).padStart(6)).join('')}\n` +
          `  logins/s:             ${perSecond.map((c) => String(c).padStart(6)).join('')}\n` +
          `  sessions created: ${created.toLocaleString('en-US')}; highest heap of the last third ` +
          `vs the middle third: ${(series.late_growth * 100).toFixed(0)}%`,
      )
    } finally {
      await server.stop()
    }
  } finally {
    killAll()
    rmSync(scratch, { recursive: true, force: true })
  }
  const results: MemoryResults = { heap, plateau }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'memory.json'), `${JSON.stringify(results, null, 2)}\n`)
  const tessera = heap.find((h) => h.id === 'tessera-node-memory' && !h.userAgent)
  const tesseraUa = heap.find((h) => h.id === 'tessera-node-memory' && h.userAgent)
  if (tessera && tesseraUa) {
    const worst = Math.max(tessera.bytes_per_session, tesseraUa.bytes_per_session)
    log(
      `  target: ${worst <= 300 ? 'met   ' : 'MISSED'} a small session in ≤ 300 bytes of heap ` +
        `(${tessera.bytes_per_session}, with a User-Agent ${tesseraUa.bytes_per_session})`,
    )
  }
  if (plateau) {
    const flat = plateau.late_growth < 0.25
    log(
      `  target: ${flat ? 'met   ' : 'MISSED'} the heap stops growing once expired sessions are swept ` +
        `(last third vs middle third ${(plateau.late_growth * 100).toFixed(1)}%, < 25%: ` +
        'the login rate itself varies by that much here)',
    )
  }
  return results
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, loader: { type: 'string' } },
  })
  await runMemory({
    quick: values.quick ?? false,
    loader: detectLoader(values.loader),
    log: (line) => console.log(line),
  })
}
