/**
 * What an adapter's own tests share: a store that can be made to fail, and the app under test,
 * both put right after each test, so a failed assertion leaves no store down and no port open.
 * @module
 */
import { afterEach } from 'vitest'
import { createMemoryStore } from '../../src/stores/memory.js'
import { type SpyStore, spyStore } from './spy-store.js'

export interface AdapterFixture {
  /** A memory store behind `spyStore`: healthy again after each test. */
  store: SpyStore
  /** Closes `app` after the current test, and returns it. */
  closeAfter<App extends { close(): Promise<unknown> }>(app: App): App
}

/** Registers the fixture's `afterEach` in the calling `describe`. */
export function adapterFixture(): AdapterFixture {
  const store = spyStore(createMemoryStore({ sweepInterval: 0 }))
  let open: { close(): Promise<unknown> } | null = null

  afterEach(async () => {
    store.fail = false
    await open?.close()
    open = null
  })

  return {
    store,
    closeAfter(app) {
      open = app
      return app
    },
  }
}
