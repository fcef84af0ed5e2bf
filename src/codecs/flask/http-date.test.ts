import { describe, expect, it } from 'vitest'
import { parseHttpDate } from './http-date.js'

describe('parseHttpDate', () => {
  it.each([
    ['Thu, 29 Feb 2024 13:05:09 GMT', '2024-02-29T13:05:09.000Z'],
    ['29 Feb 2024 13:05:09', '2024-02-29T13:05:09.000Z'],
    ['Thu, 29 Feb 2024 14:05 +0100', '2024-02-29T13:05:00.000Z'],
    ['Thu, 29 Feb 2024 08:05:09 EST', '2024-02-29T13:05:09.000Z'],
    ['Fri, 31 Dec 99 23:59:58 GMT', '1999-12-31T23:59:58.000Z'],
    ['Sat, 01 Jan 1000 00:00:00 GMT', '1000-01-01T00:00:00.000Z'],
    // Python reads any year below 100 as two-digit, even written with 4 digits.
    ['Fri, 01 Jan 0050 00:00:00 GMT', '2050-01-01T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseHttpDate(text)?.toISOString()).toBe(iso)
  })

  it.each(['', 'not a date', 'Fri, 30 Feb 2024 00:00:00 GMT', 'Thu, 29 Feb 2024 24:00:00 GMT'])(
    'gives null for %j',
    (text) => {
      expect(parseHttpDate(text)).toBeNull()
    },
  )
})
