/**
 * Preloaded into the demo server the soak starts (`node --expose-gc --import tsx --import
 * probe.ts demo/server.ts`), so the demo itself stays unchanged: over the IPC channel it answers
 * `{ soak: 'memory' }` with the process's memory right after a full garbage collection.
 * @module
 */
import type { MemorySample } from './demo-process.js'

const gc = (globalThis as { gc?: () => void }).gc

if (process.send) {
  process.on('message', (message: unknown) => {
    if ((message as { soak?: unknown } | null)?.soak !== 'memory') return
    // Two passes: the first may only queue finalizers whose objects the second frees.
    gc?.()
    gc?.()
    const usage = process.memoryUsage()
    const sample: MemorySample = {
      heapUsed: usage.heapUsed,
      external: usage.external,
      rss: usage.rss,
      collected: !!gc,
    }
    process.send?.({ soak: 'memory', sample })
  })
  // The channel must not keep the server alive once it is told to stop. Adding the listener
  // above refs the channel, so this comes after it.
  process.channel?.unref()
}
