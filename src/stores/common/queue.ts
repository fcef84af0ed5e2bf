/**
 * Per-key promise queues: the operations of one process on one key run one after another, so a
 * store whose backend only reads and writes whole records (a file, a Connect store) loses no
 * concurrent change and never brings back a destroyed record.
 * @module
 */

/** A set of per-key queues. */
export interface KeyQueue {
  /** Runs `task` once every earlier task of `key` has settled; its result, or its error. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>
  /** Resolves once every task queued so far (and those they queue) has settled. */
  idle(): Promise<void>
  /** Keys with a task queued or running. */
  readonly size: number
}

export function createKeyQueue(): KeyQueue {
  const tails = new Map<string, Promise<void>>()
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key)
      // No earlier task: start now, so a lone call costs no extra turn of the event loop.
      const result = previous ? previous.then(task) : task()
      const tail = result.then(noop, noop)
      tails.set(key, tail)
      // The map holds only keys in use: a finished queue drops its entry.
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key)
      })
      return result
    },
    async idle() {
      while (tails.size > 0) await Promise.all([...tails.values()])
    },
    get size() {
      return tails.size
    },
  }
}

export function noop(): void {}
