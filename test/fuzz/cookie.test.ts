/**
 * Fuzzing `readCookie`, the first thing every request goes through: it agrees with a plain
 * split-by-`;` reading of the header for any text, and reads any header in linear time.
 */
import { describe } from 'vitest'
import { readCookieLinearTarget } from './linear.js'
import { fuzz } from './support/run.js'
import { readCookieTarget } from './targets.js'

describe('fuzz: readCookie', () => {
  fuzz(readCookieTarget)
  fuzz(readCookieLinearTarget)
})
