/**
 * A private redis-server that keeps its data on disk (append-only file, fsynced on every write),
 * so it can be killed and restarted with its data; or without, by wiping its folder.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../support/http.js'

export class PersistentRedis {
  #child: ChildProcess | null = null
  readonly dir = mkdtempSync(join(tmpdir(), 'tessera-faults-redis-'))

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async start(): Promise<PersistentRedis> {
    const server = new PersistentRedis(await freePort())
    await server.restart()
    return server
  }

  /** Starts redis-server on the same port and folder, so it reloads what it wrote. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
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

  /** Kills the process with `signal` (SIGKILL: a crash, nothing flushed beyond what was). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child
    this.#child = null
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    child.kill(signal)
    await once(child, 'exit')
  }

  /** Stops it and removes its folder. */
  async destroy(): Promise<void> {
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
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
