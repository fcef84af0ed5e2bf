/**
 * A store operation as the engines make it: bounded by a deadline, and failing as a
 * `StoreError` that names the store and what was being done, reported once as a
 * `store_error` event. The store engine and the revocation generations share it, so an outage
 * looks the same to an app (a 503 and one event) whichever of them met it.
 * @module
 */
import { StoreError } from '../errors.js'
import { createDeadlines } from '../primitives/deadlines.js'
import type { Store } from '../stores/types.js'
import type { SessionEvent } from './types.js'

/** Runs `run` within the deadline; what it rejects with, or the deadline, becomes a `StoreError`. */
export type StoreCall = <R>(operation: string, run: () => Promise<R>) => Promise<R>

/** Calls on `store` that fail after `ms` milliseconds without an answer. */
export function createStoreCalls(
  store: Store,
  ms: number,
  emit: (event: SessionEvent) => void,
): StoreCall {
  const deadlines = createDeadlines(ms)
  return (operation, run) =>
    deadlines.within(
      run,
      () => new Error(`no answer within ${ms} ms`),
      (cause) => {
        const error =
          cause instanceof StoreError ? cause : new StoreError(store.name, operation, { cause })
        emit({ type: 'store_error', error })
        return error
      },
    )
}
