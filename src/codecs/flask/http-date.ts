/**
 * HTTP dates as Werkzeug writes and reads them: how Flask's tagged JSON keeps a `datetime`.
 * @module
 */
import { SerializeError } from '../../errors.js'

const dayNames = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const monthNames = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
]

/** An HTTP date (`Thu, 29 Feb 2024 13:05:09 GMT`), as Werkzeug's `http_date` writes it. */
export function formatHttpDate(date: Date): string {
  const year = date.getUTCFullYear()
  if (!(year >= 1 && year <= 9999)) {
    throw new SerializeError('a Date outside the years 1 to 9999 cannot be kept in a Flask session')
  }
  const two = (n: number): string => (n < 10 ? `0${n}` : String(n))
  return (
    `${dayNames[date.getUTCDay()]}, ${two(date.getUTCDate())} ${monthNames[date.getUTCMonth()]} ` +
    `${String(year).padStart(4, '0')} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:` +
    `${two(date.getUTCSeconds())} GMT`
  )
}

const zoneOffsets: Record<string, number> = {
  GMT: 0,
  UT: 0,
  UTC: 0,
  Z: 0,
  AST: -400,
  ADT: -300,
  EST: -500,
  EDT: -400,
  CST: -600,
  CDT: -500,
  MST: -700,
  MDT: -600,
  PST: -800,
  PDT: -700,
}

/**
 * The instant in an RFC 2822 date, or null when it can't be read (Werkzeug's `parse_date`
 * gives None then). Reads `[Day,] DD Mon YYYY HH:MM[:SS] [zone]`, two-digit years as Python
 * does, and a zone as a name or `±HHMM`; no zone, or one it doesn't know, means UTC. Rarer
 * layouts Python also reads (month before day, dotted times) give null here.
 */
export function parseHttpDate(text: string): Date | null {
  if (text.length > 128) return null
  const words = text.split(/[ \t\r\n]+/).filter((word) => word !== '')
  const first = words[0]
  if (first === undefined) return null
  if (first.endsWith(',') || dayNames.some((d) => d.toLowerCase() === first.toLowerCase())) {
    words.shift()
  }
  if (words.length < 4) return null
  const [dayText, monthText, yearText, timeText, zoneText = ''] = words as [
    string,
    string,
    string,
    string,
    string?,
  ]
  const month = monthIndex(monthText)
  const day = digits(dayText.endsWith(',') ? dayText.slice(0, -1) : dayText)
  let year = digits(yearText.endsWith(',') ? yearText.slice(0, -1) : yearText)
  const time = timeText.split(':')
  if (month < 0 || day === null || year === null || time.length < 2 || time.length > 3) return null
  const hour = digits(time[0])
  const minute = digits(time[1])
  const second = time.length === 3 ? digits(time[2]) : 0
  if (hour === null || minute === null || second === null) return null
  if (year < 100) year += year > 68 ? 1900 : 2000
  if (year < 1 || year > 9999 || hour > 23 || minute > 59 || second > 59) return null
  let offset = 0
  const zone = zoneText.toUpperCase()
  if (Object.hasOwn(zoneOffsets, zone)) offset = zoneOffsets[zone]!
  else if (/^[+-]?[0-9]{1,4}$/.test(zone)) offset = Number(zone)
  const date = new Date(0)
  date.setUTCFullYear(year, month, day)
  if (date.getUTCMonth() !== month || date.getUTCDate() !== day) return null
  const minutes = Math.trunc(offset / 100) * 60 + (offset % 100)
  date.setUTCHours(hour, minute - minutes, second)
  // A zone can move the date out of the years a Flask cookie can be written back with.
  const shifted = date.getUTCFullYear()
  return shifted < 1 || shifted > 9999 ? null : date
}

function monthIndex(text: string): number {
  const lower = text.toLowerCase()
  for (let i = 0; i < 12; i++) {
    const name = monthNames[i]!.toLowerCase()
    if (lower === name || (lower.length > 3 && fullMonthNames[i] === lower)) return i
  }
  return -1
}

const fullMonthNames = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]

function digits(text: string | undefined): number | null {
  if (text === undefined || text.length === 0 || text.length > 4) return null
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return null
  }
  return Number(text)
}
