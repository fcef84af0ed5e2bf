/**
 * A redis-server of a test's own, on its own port, so stopping it touches nobody else.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './http.js'

/** Null when redis-server can be started here, else a one-line reason. */
export function redisServerAvailable(): string | null {
  return spawnSync('redis-server', ['--version']).error
    ? 'redis-server is not on PATH, so no private Redis can be started to stop and restart'
    : null
}

/**
 * A redis-server a test starts on its own port and may stop, freeze and restart. A persistent
 * one keeps its data in an append-only file, fsynced on every write, in a folder of its own, so
 * it can be killed and restarted with its data.
 */
export class PrivateRedis {
  #child: ChildProcess | null = null
  readonly dir: string | null

  private constructor(
    readonly port: number,
    persistent: boolean,
  ) {
    this.dir = persistent ? mkdtempSync(join(tmpdir(), 'tessera-redis-')) : null
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async start(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort(), options.persistent ?? false)
    await server.restart()
    return server
  }

  /** Starts redis-server on the same port (and folder, so a persistent one reloads its data). */
  async restart(): Promise<void> {
    const storage = this.dir
      ? ['--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no']
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...storage],
      { stdio: 'ignore' },
    )
    this.#child = child
    child.on('error', () => {})
    const deadline = Date.now() + 5000
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server did not start on port ${this.port}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** Kills the process with `signal` (SIGKILL: a crash; SIGCONT first, in case it is paused). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child
    this.#child = null
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    child.kill(signal)
    await once(child, 'exit')
  }

  /** Stops it and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop()
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
  }

  /** Freezes the process: connections stay open, nothing answers. */
  pause(): void {
    this.#child?.kill('SIGSTOP')
  }

  resume(): void {
    this.#child?.kill('SIGCONT')
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
