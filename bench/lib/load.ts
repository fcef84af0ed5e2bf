/**
 * Drives a server with a load generator in a separate process: wrk where it is installed (it
 * is written in C and needs less of the machine than the server it measures), else autocannon.
 * The generator is pinned to the first core and the servers to the second, where `taskset`
 * exists.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loginBody } from './config.js'
import { scriptArgs } from './paths.js'

export type Loader = 'wrk' | 'autocannon'

export interface LoadJob {
  port: number
  path: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  seconds: number
  connections: number
}

export interface LoadResult {
  rps: number
  p50_ms: number
  p99_ms: number
  /** Socket errors, timeouts and 4xx/5xx answers. */
  errors: number
  requests: number
}

function has(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' })
  return result.error === undefined
}

export const hasTaskset = process.platform === 'linux' && has('taskset', ['--version'])

/** `[command, args]`, pinned to `cpu` when taskset exists and the machine has that core. */
export function pinned(cpu: number | null, command: string, args: string[]): [string, string[]] {
  if (cpu === null || !hasTaskset) return [command, args]
  return ['taskset', ['-c', String(cpu), command, ...args]]
}

export function detectLoader(wanted?: string): Loader {
  if (wanted === 'autocannon') return 'autocannon'
  const wrk = has('wrk', ['--version'])
  if (wanted === 'wrk' && !wrk) throw new Error('--loader wrk: wrk is not installed')
  return wrk ? 'wrk' : 'autocannon'
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${command} exited with ${code}: ${err.trim() || out.trim()}`))
    })
  })
}

/** A duration in wrk's notation (`585.00us`, `2.37ms`, `1.02s`) in ms. */
function wrkMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim())
  if (!match) return Number.NaN
  const value = Number(match[1])
  const unit = match[2]
  return unit === 'us'
    ? value / 1000
    : unit === 'ms'
      ? value
      : unit === 's'
        ? value * 1000
        : value * 60_000
}

export function parseWrk(out: string): LoadResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const p50 = wrkMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '')
  const p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '')
  let errors = 0
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  if (socket) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0)
  // wrk counts 3xx as success, 4xx and 5xx here.
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  if (non2xx) errors += Number(non2xx[1])
  return { rps, p50_ms: p50, p99_ms: p99, errors, requests }
}

/** A wrk script for a POST with a body; wrk takes headers on the command line. */
function wrkScript(dir: string, job: LoadJob): string | null {
  if (job.method === 'GET') return null
  const path = join(dir, `wrk-${job.method}-${Buffer.from(job.body ?? '').toString('hex')}.lua`)
  const lua = `wrk.method = "${job.method}"\nwrk.body = "${(job.body ?? '').replace(/["\\]/g, '\\$&')}"\n`
  try {
    if (readFileSync(path, 'utf8') === lua) return path
  } catch {}
  writeFileSync(path, lua)
  return path
}

/** Runs one load and reads what the generator measured. */
export async function load(loader: Loader, job: LoadJob, scratch: string): Promise<LoadResult> {
  const url = `http://127.0.0.1:${job.port}${job.path}`
  const timeoutMs = (job.seconds + 30) * 1000
  if (loader === 'wrk') {
    const args = [
      '-t1',
      `-c${job.connections}`,
      `-d${job.seconds}s`,
      '--latency',
      '--timeout',
      '5s',
    ]
    for (const [name, value] of Object.entries(job.headers)) args.push('-H', `${name}: ${value}`)
    const script = wrkScript(scratch, job)
    if (script) args.push('-s', script)
    args.push(url)
    const [command, pinnedArgs] = pinned(0, 'wrk', args)
    return parseWrk(await run(command, pinnedArgs, timeoutMs))
  }
  const spec = JSON.stringify({
    url,
    method: job.method,
    headers: job.headers,
    ...(job.body === undefined ? {} : { body: job.body }),
    seconds: job.seconds,
    connections: job.connections,
  })
  const [command, args] = pinned(0, process.execPath, [...scriptArgs('autocannon'), spec])
  const out = await run(command, args, timeoutMs)
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
    requests: number
    seconds: number
    p50_ms: number
    p99_ms: number
    errors: number
  }
  return {
    rps: r.requests / r.seconds,
    p50_ms: r.p50_ms,
    p99_ms: r.p99_ms,
    errors: r.errors,
    requests: r.requests,
  }
}

/** Seconds of CPU a process has used (user + system), from /proc; null where there is none. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return ticks / 100
  } catch {
    return null
  }
}

/** `name=value; …` of the cookies a response sets. */
function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ')
}

/**
 * The headers that carry a logged-in session to a bench system: its cookie(s), or for a system
 * whose clients carry a token, `Authorization: Bearer` with the token a `POST /login` gave.
 */
export async function sessionHeaders(
  port: number,
  spec: { mode: string; carrier?: 'cookie' | 'token' },
): Promise<Record<string, string>> {
  // A system with no sessions gets a cookie of the same size, so requests weigh the same.
  if (spec.mode === 'none') return { cookie: `session=${'x'.repeat(87)}` }
  if (spec.carrier !== 'token') return { cookie: await login(port) }
  const response = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer' },
    body: loginBody,
    redirect: 'manual',
  })
  await response.arrayBuffer()
  const token = response.headers.get('session-token')
  if (response.status !== 302 || !token) {
    throw new Error(`login answered ${response.status}${token ? '' : ' with no session token'}`)
  }
  return { authorization: `Bearer ${token}` }
}

/** The session cookie of a `POST /login` to a bench system, which must answer 302 with one. */
export async function login(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: loginBody,
    redirect: 'manual',
  })
  await response.arrayBuffer()
  const cookie = cookiesOf(response)
  if (response.status !== 302 || !cookie) {
    throw new Error(`login answered ${response.status}${cookie ? '' : ' with no cookie'}`)
  }
  return cookie
}
