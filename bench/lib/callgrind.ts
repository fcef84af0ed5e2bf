/**
 * Instructions per request of one system in one scenario, counted by valgrind's callgrind: the
 * measuring code of `bench/instructions.ts` (one system) and `bench/instructions-report.ts`
 * (`npm run bench:instructions`).
 *
 * The system runs under `valgrind --tool=callgrind`, one thread per file; a keep-alive client
 * sends `warmup` requests (4,000), then the counters are zeroed and `requests` more counted.
 * The figure is the server's main thread (JavaScript, the HTTP parser, OpenSSL) per request;
 * V8's background threads (the optimizing compiler, parts of GC) are left out. Requests carry
 * a cookie as in `npm run bench`: the one a `POST /login` before the warm-up gave, or, for a
 * system without sessions, a cookie-sized stand-in. `write` is a cookieless `POST /login`, a new
 * session each time.
 * @module
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loginBody } from './config.js'
import { sessionHeaders } from './load.js'
import { scriptArgs } from './paths.js'
import { type Scenario, systemById } from './systems.js'

export interface CountOptions {
  /** Requests counted after the warm-up. */
  requests: number
  /** Requests before the counters are zeroed. */
  warmup?: number
  /** Names the Redis keys, Postgres schema and SQLite files of the run (see lib/config.ts). */
  runId: string
}

/** Whether valgrind and callgrind_control are installed. */
export function hasCallgrind(): boolean {
  return ['valgrind', 'callgrind_control'].every(
    (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined,
  )
}

interface Job {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

/** `count` sequential requests over one kept-alive connection. */
async function drive(port: number, job: Job, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const { method, path, headers, body } = job
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
          res.resume()
          res.on('end', resolve)
        })
        req.on('error', reject)
        req.end(body)
      })
    }
  } finally {
    agent.destroy()
  }
}

async function jobOf(id: string, scenario: Scenario, port: number): Promise<Job> {
  const spec = systemById(id)
  if (scenario === 'write') {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      // A token client asks for its token with the scheme alone.
      ...(spec.carrier === 'token' ? { authorization: 'Bearer' } : {}),
    }
    return { method: 'POST', path: '/login', headers, body: loginBody }
  }
  const headers = scenario === 'anon' ? {} : await sessionHeaders(port, spec)
  const path = scenario === 'skip' ? '/ping' : '/'
  return { method: 'GET', path, headers }
}

/** Instructions of the server's main thread per request, averaged over `requests`. */
export async function countInstructions(
  id: string,
  scenario: Scenario,
  { requests, warmup = 4000, runId }: CountOptions,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-callgrind-'))
  const out = join(dir, 'callgrind.out')
  const server = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--separate-threads=yes',
      `--callgrind-out-file=${out}`,
      process.execPath,
      ...scriptArgs('server'),
      id,
      runId,
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  )
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = ''
      server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk
        const match = /READY (\d+)/.exec(text)
        if (match) resolve(Number(match[1]))
      })
      server.once('error', reject)
      server.once('exit', (code) => reject(new Error(`${id}: exited with ${code}`)))
    })
    const job = await jobOf(id, scenario, port)
    await drive(port, job, warmup)
    execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' })
    await drive(port, job, requests)
    execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' })
    // The dump of the main thread: `<out>.<pid>.1-01` (dump 1, thread 1).
    const dump = readdirSync(dir).find((f) => f.endsWith('.1-01'))
    if (!dump) throw new Error(`${id}: callgrind wrote no dump in ${dir}`)
    // For `callgrind_annotate`: the native functions (OpenSSL, libsodium, the HTTP parser) are
    // named there; JIT-compiled JavaScript is not.
    const keep = process.env.TESSERA_CALLGRIND_KEEP
    if (keep) copyFileSync(join(dir, dump), `${keep}.${id}.${scenario}`)
    const totals = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))
    if (!totals) throw new Error(`${id}: no totals in ${dump}`)
    return Number(totals[1]) / requests
  } finally {
    server.stdin!.end()
    server.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
