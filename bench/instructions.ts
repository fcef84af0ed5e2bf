/**
 * Instructions per request, counted by valgrind: `npx tsx bench/launch.ts instructions <system
 * id> [read|skip|anon]…`. Unlike req/s, an instruction count is the same whatever else the
 * machine runs, so on a shared machine it is the figure that can be trusted to a few percent.
 *
 * Each system runs under `valgrind --tool=callgrind`, one thread per file; a keep-alive client
 * sends 4,000 warm-up requests, then the counters are zeroed and 1,000 more requests counted.
 * The figure is the server's main thread (JavaScript, the HTTP parser, OpenSSL) per request;
 * V8's background threads (the optimizing compiler, parts of GC) are left out. Requests carry
 * a cookie as in `npm run bench`: the one a `POST /login` before the warm-up gave, or, for a
 * system without sessions, a cookie-sized stand-in. Needs valgrind (apt-get install valgrind);
 * about half a minute per system and scenario.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { login } from './lib/load.js'
import { scriptArgs } from './lib/paths.js'

const [id, ...scenarios] = process.argv.slice(2)
if (!id) {
  console.error('usage: npx tsx bench/launch.ts instructions <system id> [read|skip|anon]…')
  process.exit(2)
}

/** `count` sequential GETs of `path` over one kept-alive connection. */
async function drive(port: number, path: string, cookie: string | null, count: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const headers = cookie ? { cookie } : {}
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
  }
  agent.destroy()
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
    const cookie =
      scenario === 'anon' ? null : id === 'bare' ? `session=${'x'.repeat(87)}` : await login(port)
    const path = scenario === 'skip' ? '/ping' : '/'
    await drive(port, path, cookie, 4000)
    execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' })
    await drive(port, path, cookie, 1000)
    execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' })
    // The dump of the main thread: `<out>.<pid>.1-01` (dump 1, thread 1).
    const dump = readdirSync(dir).find((f) => f.endsWith('.1-01'))
    if (!dump) throw new Error(`${id}: callgrind wrote no dump in ${dir}`)
    const totals = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))
    if (!totals) throw new Error(`${id}: no totals in ${dump}`)
    return Number(totals[1]) / 1000
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
