/**
 * The demo site (`demo/server.ts`, exactly as `npm start` runs it) in a child process on a free
 * loopback port, with the memory probe preloaded.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { freePort } from '../../test/support/http.js'

/** The server's memory right after a full GC. Bytes. */
export interface MemorySample {
  heapUsed: number
  /** Memory outside the heap that JS objects own: Buffers, ArrayBuffers. */
  external: number
  rss: number
  /** False when the server was started without `--expose-gc` and could not collect first. */
  collected: boolean
}

/** A running demo server. */
export interface DemoProcess {
  origin: string
  pid: number
  /** The server's memory after a full GC. */
  memory(): Promise<MemorySample>
  /** The last lines the server wrote to stderr (a 500 is logged there). */
  errorLines(): string[]
  /** Stops the server: SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>
}

const root = fileURLToPath(new URL('../../', import.meta.url))
const server = fileURLToPath(new URL('../../demo/server.ts', import.meta.url))
const probe = pathToFileURL(fileURLToPath(new URL('./probe.ts', import.meta.url))).href

/** Starts the demo with `env` added to this process's environment. */
export async function startDemo(env: Record<string, string>): Promise<DemoProcess> {
  // freePort lets the port go before the child binds it; another process may take it between.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    try {
      return await spawnDemo({ ...env, HOST: '127.0.0.1', PORT: String(port) })
    } catch (error) {
      if (attempt >= 3 || !/is in use/.test(String(error))) throw error
    }
  }
}

async function spawnDemo(env: Record<string, string>): Promise<DemoProcess> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--import', probe, server],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  )
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exited.then(() => process.off('exit', killOnExit))

  // Both pipes are read to the end, or a server that logs a lot would block on a full pipe.
  const stderr: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line)
    if (stderr.length > 40) stderr.shift()
  })
  let timer: NodeJS.Timeout | undefined
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('tessera demo: http://')) resolve()
    })
    void exited.then(() =>
      reject(new Error(`the demo server exited before it listened: ${stderr.join('\n')}`)),
    )
    timer = setTimeout(
      () => reject(new Error('the demo server did not listen within 30 s')),
      30_000,
    )
  })
  try {
    await ready
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    clearTimeout(timer)
  }

  return {
    origin: `http://${env.HOST}:${env.PORT}`,
    pid: child.pid!,
    memory: () => askMemory(child),
    errorLines: () => [...stderr],
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

function askMemory(child: ChildProcess): Promise<MemorySample> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      reject(new Error('the demo server did not report its memory within 10 s'))
    }, 10_000)
    function onMessage(message: unknown) {
      const reply = message as { soak?: unknown; sample?: MemorySample } | null
      if (reply?.soak !== 'memory' || !reply.sample) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(reply.sample)
    }
    child.on('message', onMessage)
    child.send({ soak: 'memory' })
  })
}
