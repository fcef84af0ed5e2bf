/**
 * A PgBouncer of a test's own, started as a child process on a free port with its config in a
 * temp folder, in front of the suites' PostgreSQL (`DATABASE_URL`). Every database name is
 * passed through, so a run that makes a database of its own reaches it through the pooler too.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './http.js'
import { DATABASE_URL } from './services.js'

/** How PgBouncer hands server connections to clients. */
export type PoolMode = 'session' | 'transaction' | 'statement'

/** Null when the `pgbouncer` binary can be run here, else a one-line reason. */
export function pgbouncerAvailable(): string | null {
  const probe = spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' })
  return probe.error || probe.status !== 0
    ? 'pgbouncer is not on PATH (Debian: apt-get install pgbouncer), so no pooler can be started'
    : null
}

/** Options of `PrivatePgBouncer.start`. */
export interface PrivatePgBouncerOptions {
  /** @default 'transaction' */
  poolMode?: PoolMode
  /** Server connections per database and user. @default 10 */
  poolSize?: number
  /** The PostgreSQL behind it. @default DATABASE_URL */
  target?: string
  /** A statement each new server connection runs first (`connect_query`), such as a `SET`. */
  connectQuery?: string
  /** Startup parameters of clients to ignore rather than refuse. */
  ignoreStartupParameters?: string[]
}

/** A running PgBouncer; `stop()` ends it and removes its folder. */
export class PrivatePgBouncer {
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #user: string
  #log = ''

  private constructor(
    child: ChildProcess,
    dir: string,
    readonly port: number,
    user: string,
  ) {
    this.#child = child
    this.#dir = dir
    this.#user = user
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-8000)
    })
  }

  /** A connection string for `database` through the pooler. */
  url(database: string): string {
    return `postgres://${encodeURIComponent(this.#user)}@127.0.0.1:${this.port}/${database}`
  }

  /** The last lines PgBouncer logged, for a failing test's message. */
  get log(): string {
    return this.#log
  }

  static async start(options: PrivatePgBouncerOptions = {}): Promise<PrivatePgBouncer> {
    const target = new URL(options.target ?? DATABASE_URL)
    const user = decodeURIComponent(target.username) || 'postgres'
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'tessera-pgbouncer-'))
    const config = join(dir, 'pgbouncer.ini')
    const users = join(dir, 'users.txt')
    // With auth_type = trust PgBouncer still looks the user up in auth_file; the server's own
    // auth (trust on loopback in the suites) decides the rest.
    writeFileSync(users, `"${user.replace(/"/g, '""')}" ""\n`)
    writeFileSync(
      config,
      [
        '[databases]',
        `* = host=${target.hostname} port=${target.port || '5432'}${
          options.connectQuery ? ` connect_query='${options.connectQuery.replace(/'/g, "''")}'` : ''
        }`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${users}`,
        `pool_mode = ${options.poolMode ?? 'transaction'}`,
        `default_pool_size = ${options.poolSize ?? 10}`,
        'max_client_conn = 1000',
        ...(options.ignoreStartupParameters
          ? [`ignore_startup_parameters = ${options.ignoreStartupParameters.join(',')}`]
          : []),
        '',
      ].join('\n'),
    )
    // PgBouncer refuses to run as root: it then runs as `nobody`, who must read the config.
    const asRoot = process.getuid?.() === 0
    if (asRoot) {
      chmodSync(dir, 0o755)
      chmodSync(config, 0o644)
      chmodSync(users, 0o644)
    }
    const child = spawn('pgbouncer', [...(asRoot ? ['-u', 'nobody'] : []), config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.on('error', () => {})
    const bouncer = new PrivatePgBouncer(child, dir, port, user)
    const deadline = Date.now() + 5000
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await bouncer.stop()
        throw new Error(`pgbouncer did not start on port ${port}:\n${bouncer.log}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    return bouncer
  }

  /** Ends PgBouncer (and so every connection through it) and removes its folder. */
  async stop(): Promise<void> {
    const child = this.#child
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
      await once(child, 'exit')
      clearTimeout(timer)
    }
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.connect(port, '127.0.0.1')
  })
}
