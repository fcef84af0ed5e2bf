/**
 * Starting and stopping benchmark server processes.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { pinned } from './load.js'
import { scriptArgs } from './paths.js'

export interface ServerProcess {
  id: string
  pid: number
  port: number
  /** The server's heap after a full GC (needs `exposeGc`). */
  heap(): Promise<number>
  stop(): Promise<void>
}

/** Every server still running, so an interrupted run can stop them. */
const live = new Set<ChildProcess>()

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL')
  live.clear()
}

/** Starts a system in its own process, on core `cpu` where taskset exists. */
export function startServer(
  id: string,
  runId: string,
  options: {
    cpu?: number | null
    exposeGc?: boolean
    env?: Record<string, string>
    /** More node flags, e.g. `--cpu-prof`. */
    nodeArgs?: string[]
  } = {},
): Promise<ServerProcess> {
  const nodeArgs = [
    ...(options.exposeGc ? ['--expose-gc'] : []),
    ...(options.nodeArgs ?? []),
    ...scriptArgs('server'),
  ]
  const [command, args] = pinned(options.cpu ?? 1, process.execPath, [...nodeArgs, id, runId])
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'benchmark', ...options.env },
  })
  live.add(child)
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${id}: no READY within 30 s`))
    }, 30_000)
    child.once('exit', (code) => {
      live.delete(child)
      clearTimeout(timer)
      reject(new Error(`${id}: exited with ${code} before it was ready`))
    })
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /READY (\d+)/.exec(out)
      if (!match) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      child.stdout!.removeAllListeners('data')
      child.stdout!.resume()
      child.once('exit', () => live.delete(child))
      resolve({
        id,
        pid: child.pid!,
        port: Number(match[1]),
        heap: () =>
          new Promise<number>((done, fail) => {
            const onMessage = (message: { type?: string; heapUsed?: number; gc?: boolean }) => {
              if (message?.type !== 'heap') return
              child.off('message', onMessage)
              if (!message.gc) fail(new Error(`${id}: started without --expose-gc`))
              else done(message.heapUsed ?? 0)
            }
            child.on('message', onMessage)
            child.send({ type: 'heap' })
          }),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done()
            const force = setTimeout(() => child.kill('SIGKILL'), 8000)
            child.once('exit', () => {
              clearTimeout(force)
              live.delete(child)
              done()
            })
            child.kill('SIGTERM')
          }),
      })
    })
  })
}
