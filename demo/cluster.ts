/**
 * `npm run demo:cluster`: N instances of the demo behind HAProxy, sharing one store
 * (`SESSION_STORE`, default `redis://127.0.0.1:6379`). HAProxy listens on `PORT` (default
 * 5000) and hands each request to the next instance in turn, with no sticky sessions: a login
 * holds whichever instance answers, and a logout on one is a logout on all. Each instance is
 * its own process, so nothing is shared but the store and the secret.
 *
 * Usage: `npm run demo:cluster -- [--instances 3] [--no-balancer]`. Settings: as `npm start`,
 * plus `PORTS` (the instances' ports; default the `--instances` ports after `PORT`).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Socket } from 'node:net'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { developmentSecret } from './config.js'
import { haproxyMissing, startHaproxy } from './haproxy.js'

const env = process.env
const store = env.SESSION_STORE ?? 'redis://127.0.0.1:6379'
const host = env.HOST ?? '127.0.0.1'
const server = fileURLToPath(new URL('./server.ts', import.meta.url))

function fail(message: string): never {
  console.error(`tessera demo cluster: ${message}`)
  process.exit(1)
}

let args: { instances?: string | undefined; 'no-balancer'?: boolean | undefined }
try {
  args = parseArgs({
    options: { instances: { type: 'string' }, 'no-balancer': { type: 'boolean' } },
  }).values
} catch (error) {
  fail(
    `${(error as Error).message}; usage: npm run demo:cluster -- [--instances N] [--no-balancer]`,
  )
}
const balanced = args['no-balancer'] !== true
const port = Number(env.PORT ?? 5000)
if (!Number.isInteger(port) || port < 1 || port > 65535)
  fail(`PORT must be a port, not "${env.PORT}"`)
const count = args.instances === undefined ? null : Number(args.instances)
if (count !== null && (!Number.isInteger(count) || count < 2 || count > 64)) {
  fail(`--instances takes a whole number from 2 to 64, not "${args.instances}"`)
}
const ports = env.PORTS
  ? env.PORTS.split(',')
      .map((p) => p.trim())
      .filter(Boolean)
  : Array.from({ length: count ?? 3 }, (_, i) => String(port + 1 + i))
if (ports.length < 2 || ports.some((p) => !/^\d+$/.test(p))) {
  fail(`PORTS must list two ports or more, as 5001,5002, not "${env.PORTS}"`)
}
if (count !== null && ports.length !== count) {
  fail(`--instances ${count} and PORTS (${ports.length} ports) disagree; give one of them`)
}
if (balanced) {
  const missing = haproxyMissing()
  if (missing) fail(missing)
}
if (store === 'memory' || store === 'cookie') {
  console.warn(
    store === 'memory'
      ? 'tessera demo cluster: SESSION_STORE=memory keeps sessions inside each process, so a login will not carry across instances; use redis:// or postgres://'
      : 'tessera demo cluster: cookie sessions need no shared store: the instances share only the secret',
  )
}
if (store.startsWith('redis://') || store.startsWith('rediss://')) {
  const reason = await redisReachable(store)
  if (reason) {
    fail(
      `Redis does not answer at ${redact(store)} (${reason}). Start it (redis-server, or ` +
        'docker run -p 6379:6379 redis) or point SESSION_STORE at another one.',
    )
  }
}
// Every instance must sign with the same secret. Without SECRET_KEY, make the development
// key now, so the instances starting side by side all read the same one.
if (!env.SECRET_KEY && env.NODE_ENV !== 'production') {
  developmentSecret(resolve(env.DATA_DIR ?? '.data'))
}

const children = new Map<string, ChildProcess>()
let stopping = false

/** Starts a child whose lines are printed with `label`; its exit stops the cluster. */
function supervise(label: string, child: ChildProcess): void {
  children.set(label, child)
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (stream) {
      createInterface({ input: stream }).on('line', (line) => out.write(`[${label}] ${line}\n`))
    }
  }
  child.on('error', () => {})
  child.on('exit', (code, signal) => {
    children.delete(label)
    if (!stopping) {
      console.error(
        `tessera demo cluster: ${label} stopped (${signal ?? `exit code ${code}`}); stopping the others`,
      )
      stop(1)
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0)
    }
  })
}

for (const p of ports) {
  const child = spawn(process.execPath, [...process.execArgv, server], {
    // Behind the balancer the instances listen on loopback only; without it, where told.
    env: { ...env, SESSION_STORE: store, HOST: balanced ? '127.0.0.1' : host, PORT: p },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  supervise(`:${p}`, child)
}

if (balanced) {
  // HAProxy starts once every instance listens, so its first requests find them all up.
  await Promise.all(ports.map((p) => listening(Number(p), 120_000)))
  if (!stopping) {
    const backends = ports.map((p) => `127.0.0.1:${p}`)
    const balancer = startHaproxy({ host, port, backends })
    supervise('haproxy', balancer.child)
    await listening(port, 10_000, host)
    if (!stopping) {
      console.log(
        `tessera demo cluster: http://${host}:${port} → HAProxy, round robin over ` +
          `${ports.length} instances (${backends.join(', ')}) sharing ${redact(store)}. ` +
          'The footer says which instance served each page.',
      )
    }
  }
} else {
  console.log(
    `tessera demo cluster: ${ports.length} instances sharing ${redact(store)}. ` +
      `Log in on http://${host}:${ports[0]}, then open http://${host}:${ports[1]}: same login.`,
  )
}

function stop(code: number): void {
  if (stopping) return
  stopping = true
  process.exitCode = code
  if (children.size === 0) process.exit(code)
  for (const child of children.values()) child.kill('SIGTERM')
  // A child that does not stop in time is ended.
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL')
  }, 5000).unref()
}

process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))

/** Resolves once something accepts connections on `p`, or when the cluster is stopping. */
async function listening(p: number, ms: number, address = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + ms
  while (!stopping && !(await accepts(p, address === '0.0.0.0' ? '127.0.0.1' : address))) {
    if (Date.now() > deadline) {
      console.error(`tessera demo cluster: nothing listens on port ${p} after ${ms} ms`)
      stop(1)
      return
    }
    await new Promise((done) => setTimeout(done, 50))
  }
}

function accepts(p: number, address: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket()
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
    socket.connect(p, address)
  })
}

/** Null when Redis answers PING, else why not. */
async function redisReachable(url: string): Promise<string | null> {
  const { createClient } = await import('redis')
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1500, reconnectStrategy: false },
  })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return null
  } catch (error) {
    const first = error instanceof AggregateError ? (error.errors[0] as unknown) : error
    return first instanceof Error ? first.message || first.name : String(first)
  } finally {
    if (client.isOpen) client.destroy()
  }
}

/** A URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString().replace(/\/$/, '')
  } catch {
    return url
  }
}
