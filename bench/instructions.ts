/**
 * Instructions per request, counted by valgrind: `npx tsx bench/launch.ts instructions <system
 * id> [read|skip|anon|write]… [--requests N]`. Unlike req/s, an instruction count is the same
 * whatever else the machine runs, so on a shared machine it is the figure that can be trusted
 * to a few percent.
 *
 * Each system runs under `valgrind --tool=callgrind`, one thread per file; a keep-alive client
 * sends 4,000 warm-up requests, then the counters are zeroed and 1,000 more requests counted
 * (`--requests`: more of them average over more collections, which come every few hundred).
 * The figure is the server's main thread (JavaScript, the HTTP parser, OpenSSL) per request;
 * V8's background threads (the optimizing compiler, parts of GC) are left out. Requests carry
 * a cookie as in `npm run bench`: the one a `POST /login` before the warm-up gave, or, for a
 * system without sessions, a cookie-sized stand-in. `write` is a cookieless `POST /login`, a new
 * session each time. Needs valgrind (apt-get install valgrind); about half a minute per system
 * and scenario.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loginBody } from './lib/config.js'
import { login } from './lib/load.js'
import { scriptArgs } from './lib/paths.js'
import { systemById } from './lib/systems.js'

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '1000' } },
})
const [id, ...scenarios] = positionals
const requests = Number(flags.requests)
if (!id || !Number.isInteger(requests) || requests < 1) {
  console.error(
    'usage: npx tsx bench/launch.ts instructions <system id> [read|skip|anon|write]… [--requests N]',
  )
  process.exit(2)
}

interface Job {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

/** `count` sequential requests over one kept-alive connection. */
async function drive(port: number, job: Job, count: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const { method, path, headers, body } = job
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
  agent.destroy()
}

const withoutSessions = systemById(id).mode === 'none'

async function jobOf(scenario: string, port: number): Promise<Job> {
  if (scenario === 'write') {
    const headers = { 'content-type': 'application/x-www-form-urlencoded' }
    return { method: 'POST', path: '/login', headers, body: loginBody }
  }
  const cookie =
    scenario === 'anon' ? null : withoutSessions ? `session=${'x'.repeat(87)}` : await login(port)
  const path = scenario === 'skip' ? '/ping' : '/'
  return { method: 'GET', path, headers: cookie ? { cookie } : {} }
}

async function count(scenario: string): Promise<number> {
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
      id!,
      `icount${process.pid}`,
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
      server.once('exit', (code) => reject(new Error(`${id}: exited with ${code}`)))
    })
    const job = await jobOf(scenario, port)
    await drive(port, job, 4000)
    execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' })
    await drive(port, job, requests)
    execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' })
    // The dump of the main thread: `<out>.<pid>.1-01` (dump 1, thread 1).
    const dump = readdirSync(dir).find((f) => f.endsWith('.1-01'))
    if (!dump) throw new Error(`${id}: callgrind wrote no dump in ${dir}`)
    const totals = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))
    if (!totals) throw new Error(`${id}: no totals in ${dump}`)
    return Number(totals[1]) / requests
  } finally {
    server.stdin!.end()
    server.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

for (const scenario of scenarios.length > 0 ? scenarios : ['read']) {
  const perRequest = await count(scenario)
  console.log(
    `${id} ${scenario}: ${Math.round(perRequest).toLocaleString('en-US')} instructions/request`,
  )
}
