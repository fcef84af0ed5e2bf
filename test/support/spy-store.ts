/**
 * A store wrapper that counts calls, so tests can assert "no store write" and "one round trip".
 * @module
 */
import type { Store } from '../../src/stores/types.js'

export type StoreCalls = Record<'get' | 'create' | 'update' | 'destroy', number>

export type SpyStore = Store & { calls: StoreCalls; fail: boolean; writes(): number }

/** Wraps `store`; `calls` counts each method, `fail` makes every call reject while true. */
export function spyStore(store: Store): SpyStore {
  const calls: StoreCalls = { get: 0, create: 0, update: 0, destroy: 0 }
  const spy = {
    ...store,
    name: store.name,
    calls,
    fail: false,
    writes: () => calls.create + calls.update + calls.destroy,
  } as SpyStore
  for (const method of ['get', 'create', 'update', 'destroy'] as const) {
    const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>
    ;(spy as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      calls[method]++
      if (spy.fail) return Promise.reject(new Error('connection refused'))
      return original(...args)
    }
  }
  return spy
}
