/**
 * The invariants every fuzz target checks: nothing escapes, nothing hangs, nothing reaches a
 * prototype, and what was accepted can be written back.
 * @module
 */
import type { RejectReason } from '../../../src/codecs/types.js'

/** Every reason a codec or the session manager may give for refusing a cookie. */
export const rejectReasons: ReadonlySet<RejectReason> = new Set<RejectReason>([
  'malformed',
  'bad_signature',
  'unknown_key',
  'expired',
  'future',
  'bad_payload',
  'not_object',
  'too_large',
  'invalid_data',
])

/** The most one decode (or one request, in process) may take: beyond it, it "hangs". */
export const hangLimitMs = 50

const forbidden = ['__proto__', 'constructor', 'prototype'] as const

/**
 * The path to the first own `__proto__`/`constructor`/`prototype` key anywhere in `value`
 * (objects, arrays, Map keys and values, Set members), or null when there is none.
 */
export function forbiddenKeyPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '$']]
  const seen = new Set<object>()
  while (stack.length > 0) {
    const [item, path] = stack.pop()!
    if (typeof item !== 'object' || item === null || seen.has(item)) continue
    seen.add(item)
    if (item instanceof Map) {
      let i = 0
      for (const [k, v] of item) {
        stack.push([k, `${path}<key ${i}>`], [v, `${path}<value ${i}>`])
        i++
      }
      continue
    }
    if (item instanceof Set) {
      let i = 0
      for (const v of item) stack.push([v, `${path}<member ${i++}>`])
      continue
    }
    if (ArrayBuffer.isView(item)) continue
    for (const key of forbidden) {
      if (Object.hasOwn(item, key)) return `${path}[${JSON.stringify(key)}]`
    }
    for (const key of Object.keys(item)) {
      stack.push([(item as Record<string, unknown>)[key], `${path}[${JSON.stringify(key)}]`])
    }
  }
  return null
}

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).length

/** Throws when anything was added to `Object.prototype` (prototype pollution). */
export function assertPrototypeIntact(): void {
  const now = Object.getOwnPropertyNames(Object.prototype).length
  if (now !== prototypeKeys) throw new Error(`Object.prototype gained ${now - prototypeKeys} keys`)
}

/**
 * Runs `fn` and returns its result; throws when it took longer than `limitMs`. A slow call is
 * timed twice more and only the fastest counts, so a GC pause or a busy CPU is not a hang.
 */
export function timed<T>(what: string, fn: () => T, limitMs = hangLimitMs): T {
  let start = performance.now()
  const result = fn()
  let best = performance.now() - start
  for (let retry = 0; retry < 2 && best > limitMs; retry++) {
    start = performance.now()
    fn()
    best = Math.min(best, performance.now() - start)
  }
  if (best > limitMs) throw new Error(`${what} took ${best.toFixed(1)} ms (limit ${limitMs} ms)`)
  return result
}

/** `timed` for an async call; `fn` must be safe to run again. */
export async function timedAsync<T>(
  what: string,
  fn: () => Promise<T>,
  limitMs = hangLimitMs,
): Promise<T> {
  let start = performance.now()
  const result = await fn()
  let best = performance.now() - start
  for (let retry = 0; retry < 2 && best > limitMs; retry++) {
    start = performance.now()
    await fn()
    best = Math.min(best, performance.now() - start)
  }
  if (best > limitMs) throw new Error(`${what} took ${best.toFixed(1)} ms (limit ${limitMs} ms)`)
  return result
}

/** Resolves with `promise`, or rejects when it has not settled within `ms` (a hang). */
export function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** A short, printable preview of a long input, for failure messages. */
export function preview(text: string, max = 160): string {
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text)
  return `${shown} (${text.length} chars)`
}
