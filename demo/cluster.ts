/**
 * `npm run demo:cluster`: two instances of the demo, on ports 5000 and 5001, sharing one Redis
 * (`SESSION_STORE`, default `redis://127.0.0.1:6379`). Log in on one and you are logged in on
 * the other: the path for an app that outgrows one machine. Each instance is its own process,
 * so nothing is shared but the store and the secret.
 *
 * Settings: as `npm start`, plus `PORTS` (default `5000,5001`).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { developmentSecret } from './config.js'

const env = process.env
const store = env.SESSION_STORE ?? 'redis://127.0.0.1:6379'
const host = env.HOST ?? '127.0.0.1'
const ports = (env.PORTS ?? '5000,5001')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean)
const server = fileURLToPath(new URL('./server.ts', import.meta.url))

function fail(message: string): never {
  console.error(`tessera demo cluster: ${message}`)
  process.exit(1)
}

if (ports.length < 2 || ports.some((p) => !/^\d+$/.test(p))) {
  fail(`PORTS must list two ports or more, as 5000,5001, not "${env.PORTS}"`)
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

console.log(
  `tessera demo cluster: ${ports.length} instances sharing ${redact(store)}. ` +
    `Log in on http://${host}:${ports[0]}, then open http://${host}:${ports[1]}: same login.`,
)

const children = new Map<string, ChildProcess>()
let stopping = false

for (const port of ports) {
  const child = spawn(process.execPath, [...process.execArgv, server], {
    env: { ...env, SESSION_STORE: store, HOST: host, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.set(port, child)
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    createInterface({ input: stream }).on('line', (line) => out.write(`[:${port}] ${line}\n`))
  }
  child.on('exit', (code, signal) => {
    children.delete(port)
    if (!stopping) {
      console.error(
        `tessera demo cluster: the instance on port ${port} stopped (${signal ?? `exit code ${code}`}); stopping the others`,
      )
      stop(1)
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0)
    }
  })
}

function stop(code: number): void {
  if (stopping) return
  stopping = true
  process.exitCode = code
  if (children.size === 0) process.exit(code)
  for (const child of children.values()) child.kill('SIGTERM')
  // An instance that does not stop in time is ended.
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL')
  }, 5000).unref()
}

process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))

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
