import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createDeadlines } from './deadlines.js'

describe('createDeadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('times out each unanswered call its own `ms` after it started, in order', () => {
    const deadlines = createDeadlines(100)
    const expired: string[] = []
    deadlines.start(() => expired.push('a'))
    vi.advanceTimersByTime(40)
    deadlines.start(() => expired.push('b'))
    vi.advanceTimersByTime(59)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['a'])
    vi.advanceTimersByTime(39)
    expect(expired).toEqual(['a'])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['a', 'b'])
  })

  it('never times out an answered call, and an answer after the timeout is refused', () => {
    const deadlines = createDeadlines(100)
    const expired: string[] = []
    const first = deadlines.start(() => expired.push('first'))
    const second = deadlines.start(() => expired.push('second'))
    expect(first.settle()).toBe(true)
    vi.advanceTimersByTime(100)
    expect(expired).toEqual(['second'])
    expect(second.settle()).toBe(false)
    expect(first.settle()).toBe(false)
  })

  it('keeps no timer while nothing waits, and arms again for the next call', () => {
    const deadlines = createDeadlines(50)
    deadlines.start(() => {}).settle()
    vi.advanceTimersByTime(50)
    expect(vi.getTimerCount()).toBe(0)
    const expired: number[] = []
    for (let i = 0; i < 3000; i++) {
      const d = deadlines.start(() => expired.push(i))
      if (i % 3 !== 0) d.settle()
    }
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(50)
    expect(expired).toHaveLength(1000)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('within: the answer in time, or the failure mapped, whether run rejects, throws or times out', async () => {
    const deadlines = createDeadlines(100)
    const failed = (cause: unknown) => new Error(`mapped: ${(cause as Error).message}`)
    const timedOut = () => new Error('too slow')

    await expect(deadlines.within(async () => 7, timedOut, failed)).resolves.toBe(7)
    await expect(
      deadlines.within(() => Promise.reject(new Error('down')), timedOut, failed),
    ).rejects.toThrow('mapped: down')
    await expect(
      deadlines.within(
        () => {
          throw new Error('sync')
        },
        timedOut,
        failed,
      ),
    ).rejects.toThrow('mapped: sync')
    const late = deadlines.within(() => new Promise<number>(() => {}), timedOut, failed)
    vi.advanceTimersByTime(100)
    await expect(late).rejects.toThrow('mapped: too slow')
  })
})
