/**
 * A redis-server of a test's own, on its own port, so stopping it touches nobody else.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { Socket } from 'node:net'
import { freePort } from './http.js'

/** Null when redis-server can be started here, else a one-line reason. */
export function redisServerAvailable(): string | null {
  return spawnSync('redis-server', ['--version']).error
    ? 'redis-server is not on PATH, so no private Redis can be started to stop and restart'
    : null
}

/** A redis-server a test starts on its own port and may stop, freeze and restart. */
export class PrivateRedis {
  #child: ChildProcess | null = null

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort())
    await server.restart()
    return server
  }

  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
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

  /** Stops the process (SIGCONT first, in case it is paused). */
  async stop(): Promise<void> {
    const child = this.#child
    this.#child = null
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await once(child, 'exit')
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
