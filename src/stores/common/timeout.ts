/**
 * The one command timeout of the stores that talk to a server (Redis, PostgreSQL): every call
 * gets the same limit, kept by one timer for all calls in flight (see `primitives/deadlines`).
 * @module
 */
import { createDeadlines } from '../../primitives/deadlines.js'

/** Bounds calls of one store to `ms` each. */
export interface CommandTimeout {
  readonly ms: number
  /**
   * What `run()` resolves to, or a rejection `<store> did not <what> within <ms> ms` when the
   * time is up first. `onLate` gets what `run()` resolves to after that, to hand back a
   * resource (a pool connection) nobody will use.
   */
  within<T>(what: string, run: () => Promise<T>, onLate?: (value: T) => void): Promise<T>
}

export function createCommandTimeout(store: string, ms: number): CommandTimeout {
  const deadlines = createDeadlines(ms)
  return {
    ms,
    within<T>(what: string, run: () => Promise<T>, onLate?: (value: T) => void): Promise<T> {
      if (!onLate) {
        return deadlines.within(run, () => new Error(`${store} did not ${what} within ${ms} ms`))
      }
      let late = false
      return deadlines.within(
        () => {
          const pending = run()
          pending.then(
            (value) => {
              if (late) onLate(value)
            },
            () => {},
          )
          return pending
        },
        () => {
          late = true
          return new Error(`${store} did not ${what} within ${ms} ms`)
        },
      )
    },
  }
}
