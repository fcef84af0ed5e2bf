import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../src/stores/memory.js'
import { expectProgress, randomKey, record, testStore } from '../contracts/store.js'

testStore('memory', { make: ({ now }) => createMemoryStore({ now, sweepInterval: 0 }) })

describe('createMemoryStore', () => {
  it('evicts the oldest session past maxSessions', async () => {
    const store = createMemoryStore({ maxSessions: 2, sweepInterval: 0 })
    const [a, b, c] = [randomKey(), randomKey(), randomKey()]

    for (const k of [a, b, c]) await store.create(k, record())

    expect(await store.get(a)).toBeNull()
    expect(await store.get(b)).not.toBeNull()
    expect(store.size).toBe(2)
  })

  it('sweeps expired sessions so they stop taking memory', async () => {
    let t = 1_000_000
    const store = createMemoryStore({ now: () => t, sweepInterval: 0 })
    await store.create(randomKey(), record({ createdAt: t, lastSeenAt: t, expiresAt: t + 1000 }))

    t += 1001
    const seen: number[] = []
    const count = await store.prune!({ onProgress: (n) => seen.push(n) })

    expect(count).toBe(1)
    expect(seen).toEqual([1])
    expectProgress(seen, count)
    expect(store.size).toBe(0)
  })
})
