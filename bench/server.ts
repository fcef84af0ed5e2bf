/**
 * One benchmarked system in its own process: `node --import tsx bench/server.ts <id> <runId>`.
 * Prints `READY <port>` once it listens on 127.0.0.1, and stops cleanly on SIGTERM or when its
 * parent closes stdin, so no server outlives the benchmark. Started with an IPC channel and
 * `--expose-gc`, it answers `{ type: 'heap' }` with its heap after a full collection.
 * @module
 */
import { build, systemById } from './lib/systems.js'

const [id, runId] = process.argv.slice(2)
if (!id || !runId) {
  console.error('usage: bench/server.ts <system id> <run id>')
  process.exit(2)
}

const running = await build(systemById(id), { runId })
let stopping = false

async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(0), 5000)
  force.unref()
  try {
    await running.stop()
  } catch (error) {
    console.error(`bench server ${id}: stop failed`, error)
  }
  process.exit(0)
}

process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()

if (process.send) {
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'heap') return
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc) {
      // Twice: the first collection may leave finalizers whose objects the second frees.
      gc()
      gc()
    }
    process.send?.({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, gc: gc !== undefined })
  })
  // The channel must not keep the process alive on its own.
  process.channel?.unref()
}

process.stdout.write(`READY ${running.port}\n`)
