/**
 * Background pruning of a store's expired sessions.
 * @module
 */
import type { Store } from '../stores/types.js'

/**
 * Prunes the store every `interval` seconds, first after a random part of it, so that app
 * instances started together don't all sweep at once. The timer never keeps the process alive.
 */
export function startSweeper(
  store: Store,
  interval: number,
  onError: (cause: unknown) => void,
): { stop(): void } {
  let timer: NodeJS.Timeout | null = null
  let stopped = false
  const prune = store.prune?.bind(store)
  if (prune && interval > 0) {
    const schedule = (delay: number) => {
      if (stopped) return
      timer = setTimeout(() => {
        prune().then(
          () => schedule(interval * 1000),
          (cause: unknown) => {
            onError(cause)
            schedule(interval * 1000)
          },
        )
      }, delay)
      timer.unref()
    }
    schedule(Math.random() * interval * 1000)
  }
  return {
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
