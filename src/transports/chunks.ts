/**
 * A session cookie split over `name.0`, `name.1`, … when one cookie cannot hold it. A session
 * that fits one cookie is written as the plain `name`, so turning chunks on changes nothing for
 * small sessions; a response deletes whichever of the request's cookies it does not write again,
 * so a session that grows or shrinks leaves no stale piece behind.
 *
 * The pieces are joined in order and the codec verifies the whole, so a piece tampered with,
 * missing or out of order leaves a value whose signature fails: an anonymous session.
 * @module
 */
import { ConfigError, CookieTooLargeError } from '../errors.js'
import { utf8Length } from '../primitives/bytes.js'
import { maxCookieBytes } from '../primitives/limits.js'
import type { ChunkOptions, CookieWriter } from './cookie.js'
import type { Incoming, TransportRefusal } from './types.js'

/** Bit of `Incoming.held` for the plain, unchunked cookie. */
export const plainBit = 1 << 30

/** The highest chunk count: each has a bit of `Incoming.held` below `plainBit`. */
export const chunkLimit = 30

/** A chunked session cookie's reader and writer. */
export interface Chunker {
  readonly maxChunks: number
  readonly maxBytes: number
  /** The session's value(s) in a `Cookie` header: plain ones, and the chunks joined. */
  read(header: string | undefined): Incoming
  /**
   * The `Set-Cookie` lines giving the client `value`, and deleting what `held` had beside.
   * `https` (the request came over HTTPS) makes every line Secure under `secure: 'auto'`.
   */
  write(value: string, expiresAt: number | undefined, held: number, https?: boolean): string[]
  /** The `Set-Cookie` lines deleting every cookie of the session that `held` names. */
  remove(held: number, https?: boolean): string[]
}

/** Checks the limits once, at start-up. */
export function createChunker(cookie: CookieWriter, options: ChunkOptions): Chunker {
  const maxChunks = options.maxChunks ?? 4
  const maxBytes = options.maxBytes ?? 8192
  if (!Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > chunkLimit) {
    throw new ConfigError(`cookie.chunks.maxChunks must be a whole number from 1 to ${chunkLimit}`)
  }
  if (!Number.isInteger(maxBytes) || maxBytes < maxCookieBytes) {
    throw new ConfigError(
      `cookie.chunks.maxBytes must be a whole number of at least ${maxCookieBytes} (one cookie)`,
    )
  }
  const name = cookie.name
  const prefix = `${name}.`
  // What a chunk of each index can hold, so that its whole Set-Cookie line, attributes and
  // Expires included, stays within what browsers keep.
  const room = (cookieName: string) =>
    maxCookieBytes - utf8Length(cookieName) - 1 - cookie.attributeBytes
  const plainRoom = room(name)

  function read(header: string | undefined): Incoming {
    const plain: string[] = []
    const parts: string[] = []
    let held = 0
    let count = 0
    let bytes = 0
    let refused: TransportRefusal | null = null
    if (header) {
      for (const pair of header.split(';')) {
        const eq = pair.indexOf('=')
        if (eq < 1) continue
        const key = pair.slice(0, eq).trim()
        if (key !== name && !key.startsWith(prefix)) continue
        let value = pair.slice(eq + 1).trim()
        if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) {
          value = value.slice(1, -1)
        }
        if (key === name) {
          held |= plainBit
          plain.push(value)
          continue
        }
        const suffix = key.slice(prefix.length)
        // Only the names this writer makes: `name.0` to `name.29`, no leading zero.
        if (!/^(0|[1-9]\d?)$/.test(suffix)) continue
        const index = Number(suffix)
        if (index >= chunkLimit) continue
        held |= 1 << index
        if (value === '') continue
        if (index >= maxChunks) refused ??= 'too_large'
        else if (parts[index] !== undefined) refused ??= 'malformed'
        else {
          parts[index] = value
          count++
        }
        bytes += key.length + value.length + 3
      }
    }
    if (bytes > maxBytes + 2) refused = 'too_large'
    if (count > 0 && refused === null) {
      // A gap: a piece is missing, and the joined rest could not verify anyway.
      for (let i = 0; i < count; i++) if (parts[i] === undefined) refused = 'malformed'
    }
    const values = refused === null && count > 0 ? [...plain, parts.join('')] : plain
    return { values, via: 'cookie', present: held !== 0, refused, held }
  }

  function write(
    value: string,
    expiresAt: number | undefined,
    held: number,
    https?: boolean,
  ): string[] {
    const lines: string[] = []
    if (value.length <= plainRoom) {
      lines.push(cookie.line(name, value, expiresAt, https))
      for (let i = 0; i < chunkLimit; i++) {
        if (held & (1 << i)) lines.push(cookie.removeLine(`${prefix}${i}`, https))
      }
      return lines
    }
    let at = 0
    let index = 0
    let bytes = 0
    while (at < value.length) {
      const chunkName = `${prefix}${index}`
      const size = room(chunkName)
      const part = value.slice(at, at + size)
      at += size
      bytes += chunkName.length + part.length + 3
      index++
      if (index > maxChunks || bytes > maxBytes + 2) {
        throw new CookieTooLargeError(
          name,
          value.length,
          Math.min(maxBytes, maxChunks * plainRoom),
          `more than the ${maxChunks} cookies and ${maxBytes} bytes of cookie.chunks allow`,
        )
      }
      lines.push(cookie.line(chunkName, part, expiresAt, https))
    }
    if (held & plainBit) lines.push(cookie.remove(https))
    for (let i = index; i < chunkLimit; i++) {
      if (held & (1 << i)) lines.push(cookie.removeLine(`${prefix}${i}`, https))
    }
    return lines
  }

  function remove(held: number, https?: boolean): string[] {
    if (held === 0) return [cookie.remove(https)]
    const lines: string[] = []
    if (held & plainBit) lines.push(cookie.remove(https))
    for (let i = 0; i < chunkLimit; i++) {
      if (held & (1 << i)) lines.push(cookie.removeLine(`${prefix}${i}`, https))
    }
    return lines
  }

  return { maxChunks, maxBytes, read, write, remove }
}
