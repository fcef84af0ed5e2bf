import { describe, expect, it } from 'vitest'
import { forbiddenKeys, isForbiddenKey } from './guards.js'

describe('isForbiddenKey', () => {
  it('refuses exactly the keys that lead to a prototype', () => {
    expect([...forbiddenKeys].every(isForbiddenKey)).toBe(true)

    expect(isForbiddenKey('__proto__')).toBe(true)
    expect(isForbiddenKey('constructor')).toBe(true)
    expect(isForbiddenKey('prototype')).toBe(true)
  })

  it('allows look-alikes of the same length and other keys', () => {
    expect(isForbiddenKey('__proto_x')).toBe(false)
    expect(isForbiddenKey('Constructor')).toBe(false)
    expect(isForbiddenKey('prototypes')).toBe(false)
    expect(isForbiddenKey('')).toBe(false)
    expect(isForbiddenKey('user')).toBe(false)
  })
})
