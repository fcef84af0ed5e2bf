/**
 * Flask's session cookie, byte for byte: Flask's tagged JSON, zlib when it saves 2 bytes or
 * more, and itsdangerous's URL-safe timed signature (HMAC-SHA1, salt `cookie-session`).
 *
 *   [.]<base64url JSON or zlib(JSON)>.<base64url timestamp>.<base64url HMAC-SHA1>
 *
 * A tessera app and a Flask app with the same SECRET_KEY read and write each other's sessions.
 * @module
 */
import { ConfigError, SerializeError } from '../../errors.js'
import { fromBase64, latin1Bytes, toBase64url, utf8Bytes } from '../../primitives/bytes.js'
import { base64urlValues } from '../../primitives/encoding.js'
import { createSha1Mac, requireNodeCrypto, type Sha1Mac, safeEqual } from '../../primitives/keys.js'
import { nodeZlib } from '../../primitives/runtime.js'
import { deflate } from '../deflate.js'
import { inflateJs } from '../inflate.js'
import { isPlainObject } from '../tagged-json.js'
import type {
  CookieCodec,
  DecodeOptions,
  DecodeResult,
  RejectReason,
  SessionData,
  SessionMeta,
} from '../types.js'
import { parse } from './parse.js'
import { copyFloatMarks } from './python.js'
import { dumpsSession, flaskJSON } from './tags.js'

/** Options of `createFlaskCodec`. */
export interface FlaskCodecOptions {
  /** Flask's SECRET_KEY: text (used as UTF-8) or bytes. It signs every new cookie. */
  secret: string | Uint8Array
  /** Flask's SECRET_KEY_FALLBACKS: older keys still accepted when reading. @default [] */
  fallbacks?: readonly (string | Uint8Array)[]
}

/** What `decodeFlaskUnsafe` found in a cookie, signature unchecked. */
export type UnsafeDecodeResult =
  | { ok: true; data: unknown; issuedAt: number; compressed: boolean }
  | { ok: false; reason: RejectReason }

/** How a compressed payload is inflated, at most `maxInflatedBytes`; throws past that. */
export type Inflate = (bytes: Uint8Array) => Uint8Array

/** Longest cookie value read at all: larger ones are refused before any crypto. */
const maxValueLength = 4096

/** Most bytes a compressed payload may inflate to: a cookie is 4 KB, this is a zip-bomb guard. */
export const maxInflatedBytes: number = 64 << 10

/**
 * A codec for Flask's session cookies: `encode` gives the exact value Flask 3.x would set for
 * the same data, key and second; `decode` accepts what Flask accepts, except where noted.
 * @example
 * const codec = createFlaskCodec({ secret: process.env.SECRET_KEY!, fallbacks: [oldKey] })
 */
export function createFlaskCodec(options: FlaskCodecOptions): CookieCodec {
  const { createHmac } = requireNodeCrypto('the Flask cookie codec')
  const inflate = nodeInflate()
  const secrets = flaskSecrets(options)
  // itsdangerous's "hmac" derivation, done once: HMAC-SHA1(secret, salt).
  const keys = secrets.map((secret) =>
    createSha1Mac(createHmac('sha1', secret).update('cookie-session').digest()),
  )
  const current = keys[0]!
  const mac = (key: Sha1Mac, message: string) => key.digest(message)

  function encode(data: SessionData, meta: SessionMeta, now: number): string {
    const message = flaskMessage(data, meta, now)
    return `${message}.${current.sign(message)}`
  }

  function decode(value: string, { now, maxAge }: DecodeOptions): DecodeResult {
    try {
      const parts = split(value)
      if (typeof parts === 'string') return { ok: false, reason: parts }
      const given = readSignature(value, parts.sigDot + 1)
      let keyIndex = -1
      const message = value.slice(0, parts.sigDot)
      for (let i = 0; i < keys.length; i++) {
        if (safeEqual(mac(keys[i]!, message), given)) {
          keyIndex = i
          break
        }
      }
      if (keyIndex < 0) return { ok: false, reason: 'bad_signature' }
      return readVerified(value, parts, keyIndex, now, maxAge, inflate)
    } catch {
      // Nothing above should throw; a bad cookie must never become a 500.
      return { ok: false, reason: 'malformed' }
    }
  }

  return { format: 'flask', reservedKeys: flaskReservedKeys, encode, decode }
}

/**
 * The keys of a Flask session dict that hold tessera's metadata: `_permanent` is Flask's own
 * (`session.permanent`), `_user` the user a tessera app bound with `setUser`. A Flask app sees
 * them as ordinary keys, and ignores them.
 */
export const flaskReservedKeys: ReadonlySet<string> = new Set(['_permanent', '_user'])

/**
 * The session in a cookie whose signature verified with secret `keyIndex`: only now do its
 * timestamp and payload count, because the signature vouches for them.
 */
export function readVerified(
  value: string,
  parts: Parts,
  keyIndex: number,
  now: number,
  maxAge: number,
  inflate: Inflate,
): DecodeResult {
  const issued = readTimestamp(value, parts)
  if (issued === null) return { ok: false, reason: 'malformed' }
  const age = Math.floor(now / 1000) - issued
  if (age > maxAge) return { ok: false, reason: 'expired' }
  if (age < 0) return { ok: false, reason: 'future' }
  const data = readPayload(value, parts, inflate)
  if (!data.ok) return data
  if (!isPlainObject(data.data)) return { ok: false, reason: 'not_object' }
  return { ok: true, data: data.data, meta: takeMeta(data.data), issuedAt: issued * 1000, keyIndex }
}

/** The signed part of a Flask cookie (`payload.timestamp`) for `data` and `meta` at `now`. */
export function flaskMessage(data: SessionData, meta: SessionMeta, now: number): string {
  if (!isPlainObject(data)) throw new SerializeError('Flask session data must be a plain object')
  const dict = withMeta(data, meta)
  const seconds = Math.floor(now / 1000)
  if (!(seconds >= 0 && seconds <= Number.MAX_SAFE_INTEGER)) {
    throw new SerializeError(`cannot date a Flask cookie at ${now}`)
  }
  // ensure_ascii leaves only ASCII in the text, so latin1 is its UTF-8.
  const json = latin1Bytes(dumpsSession(dict))
  const packed = deflate(json)
  const payload = packed.length < json.length - 1 ? `.${toBase64url(packed)}` : toBase64url(json)
  return `${payload}.${timestampText(seconds)}`
}

/** The Flask dict for `data` and `meta`: the data, with the metadata under its reserved keys. */
function withMeta(data: SessionData, meta: SessionMeta): SessionData {
  if (!meta.permanent && meta.user === null) return data
  const dict: SessionData = { ...data }
  // Flask floats with integral values (1.0) keep their spelling in the copy.
  copyFloatMarks(data, dict)
  if (meta.permanent) dict._permanent = true
  if (meta.user !== null) dict._user = meta.user
  return dict
}

/** The metadata in a Flask dict, taken out of it. Flask's cookie has no creation time. */
function takeMeta(data: SessionData): SessionMeta {
  const { _permanent: permanent, _user: user } = data
  // In the reverse of the order `withMeta` writes them: deleting an object's newest property is
  // cheap in V8; deleting any other turns the object into a slow dictionary.
  if ('_user' in data) delete data._user
  if ('_permanent' in data) delete data._permanent
  return {
    user: typeof user === 'string' ? user : null,
    createdAt: null,
    permanent: permanent === true,
  }
}

/**
 * What a Flask cookie holds, without checking its signature (itsdangerous's `loads_unsafe`):
 * for debugging output only, never for trusting the data.
 */
export function decodeFlaskUnsafe(value: string): UnsafeDecodeResult {
  const inflate = nodeInflate()
  try {
    const parts = split(value)
    if (typeof parts === 'string') return { ok: false, reason: parts }
    const issued = readTimestamp(value, parts)
    if (issued === null) return { ok: false, reason: 'malformed' }
    const data = readPayload(value, parts, inflate)
    if (!data.ok) return data
    return { ok: true, data: data.data, issuedAt: issued * 1000, compressed: parts.start === 1 }
  } catch {
    return { ok: false, reason: 'malformed' }
  }
}

export interface Parts {
  /** Where the payload starts: 1 when a `.` marks it compressed. */
  start: number
  tsDot: number
  sigDot: number
}

/** A character outside base64url and the `.` separator (a single class: nothing to backtrack). */
const notCookieChar = /[^A-Za-z0-9_.-]/

/**
 * The cookie's segments, split from the right as itsdangerous does, or why it is malformed.
 * Shapes Flask never writes (stray dots, characters outside base64url) are refused here,
 * before any HMAC is computed.
 *
 * The signature is read as Python's lenient base64 reads it, within limits: the unused low 2
 * bits of its last character are ignored and one or two trailing `=` are accepted, as Flask
 * accepts them (the HMAC still covers all 160 bits, so this only allows other spellings of a
 * valid cookie). Spellings that rely on Python dropping characters (spaces, `+`, `/`, more
 * padding) are refused; Werkzeug trims the spaces before Flask sees them anyway.
 */
export function split(value: string): Parts | RejectReason {
  if (typeof value !== 'string' || value.length === 0) return 'malformed'
  if (value.length > maxValueLength) return 'too_large'
  let end = value.length
  if (value.charCodeAt(end - 1) === 0x3d) end--
  if (value.charCodeAt(end - 1) === 0x3d) end--
  if (notCookieChar.test(end === value.length ? value : value.slice(0, end))) return 'malformed'
  const sigDot = value.lastIndexOf('.')
  if (end - sigDot - 1 !== 27) return 'malformed'
  const tsDot = value.lastIndexOf('.', sigDot - 1)
  const start = value.charCodeAt(0) === 0x2e ? 1 : 0
  // A payload of at least one character, and no dot in it.
  if (tsDot < start + 1 || value.indexOf('.', start) !== tsDot) return 'malformed'
  return { start, tsDot, sigDot }
}

const signature = new Uint8Array(20)

/**
 * The 20 bytes of the 27-character signature at `from` (checked to be base64url), decoded
 * into a shared buffer; the last character's 2 spare bits are dropped, as Python does.
 */
export function readSignature(value: string, from: number): Uint8Array {
  let out = 0
  for (let i = from; i < from + 24; i += 4) {
    const n =
      (base64urlValues[value.charCodeAt(i)]! << 18) |
      (base64urlValues[value.charCodeAt(i + 1)]! << 12) |
      (base64urlValues[value.charCodeAt(i + 2)]! << 6) |
      base64urlValues[value.charCodeAt(i + 3)]!
    signature[out++] = n >>> 16
    signature[out++] = (n >>> 8) & 0xff
    signature[out++] = n & 0xff
  }
  const n =
    (base64urlValues[value.charCodeAt(from + 24)]! << 12) |
    (base64urlValues[value.charCodeAt(from + 25)]! << 6) |
    base64urlValues[value.charCodeAt(from + 26)]!
  signature[18] = n >>> 10
  signature[19] = (n >>> 2) & 0xff
  return signature
}

/** The signed unix time in seconds, or null when the segment can't be a timestamp. */
function readTimestamp(value: string, parts: Parts): number | null {
  const length = parts.sigDot - parts.tsDot - 1
  // Over 8 bytes, or a length no base64 text has: itsdangerous calls both malformed.
  if (length > 11 || length % 4 === 1) return null
  let bits = 0
  for (let i = parts.tsDot + 1; i < parts.sigDot; i++) {
    bits = bits * 64 + base64urlValues[value.charCodeAt(i)]!
  }
  // Drop the bits past the last whole byte, as a base64 decoder does.
  return Math.floor(bits / 2 ** ((length * 6) % 8))
}

type PayloadResult = { ok: true; data: unknown } | { ok: false; reason: RejectReason }

/**
 * The untagged payload. Reaching here with a signed cookie means the key holder wrote
 * something broken: Flask answers that with a 500, tessera with an empty session.
 */
function readPayload(value: string, parts: Parts, inflate: Inflate): PayloadResult {
  const text = value.slice(parts.start, parts.tsDot)
  if (text.length % 4 === 1) return { ok: false, reason: 'bad_payload' }
  let json: unknown
  try {
    let bytes = fromBase64(text)
    if (parts.start === 1) bytes = inflate(bytes)
    json = parse(utf8.decode(bytes))
  } catch {
    return { ok: false, reason: 'bad_payload' }
  }
  try {
    return { ok: true, data: flaskJSON.untag(json) }
  } catch {
    return { ok: false, reason: 'invalid_data' }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Node's `inflateSync`, capped; where `node:zlib` is absent, pako's (`inflate.ts`). */
function nodeInflate(): Inflate {
  const zlib = nodeZlib
  if (!zlib) return inflateJs
  return (bytes) => zlib.inflateSync(bytes, { maxOutputLength: maxInflatedBytes })
}

/** The last timestamp written: cookies written in the same second share it. */
let lastSeconds = -1
let lastTimestamp = ''

/** itsdangerous's timestamp: the seconds as big-endian bytes, no leading zeros, base64url. */
function timestampText(seconds: number): string {
  if (seconds === lastSeconds) return lastTimestamp
  const bytes: number[] = []
  for (let t = seconds; t > 0; t = Math.floor(t / 256)) bytes.unshift(t % 256)
  lastTimestamp = toBase64url(Uint8Array.from(bytes))
  lastSeconds = seconds
  return lastTimestamp
}

/** The Flask secret and its fallbacks as bytes; throws `ConfigError` for an empty or odd one. */
export function flaskSecrets(options: FlaskCodecOptions): Uint8Array[] {
  return [options.secret, ...(options.fallbacks ?? [])].map(secretBytes)
}

function secretBytes(secret: unknown, index: number): Uint8Array {
  const which = index === 0 ? 'the Flask secret' : `Flask fallback secret #${index}`
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new ConfigError(`${which} must be a string or bytes (Flask's SECRET_KEY)`)
  }
  const bytes = typeof secret === 'string' ? utf8Bytes(secret) : Uint8Array.from(secret)
  if (bytes.length === 0) {
    throw new ConfigError(`${which} is empty; set it to the Flask app's SECRET_KEY`)
  }
  return bytes
}
