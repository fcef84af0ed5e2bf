/**
 * tessera's native cookies over Web Crypto: the same `s1.`, `e2.` and `e1.` values as
 * `native.ts` writes with `node:crypto`, byte for byte (only the random nonce differs), read and
 * written with promises. A cookie written by either codec reads with the other. `e2.` is sealed
 * with XChaCha20-Poly1305, which Web Crypto lacks: its JavaScript implementation does it here.
 *
 * Each mode's crypto is a `Sealer` per key, so another format (a new mode prefix with other
 * crypto) plugs in through `createAsyncNativeCodec` without touching the framing.
 * @module
 */
import {
  concatBytes,
  fromBase64,
  toBase64url,
  utf8Bytes,
  utf8Length,
  utf8Text,
} from '../primitives/bytes.js'
import { decodeCanonicalBase64url, isBase64url } from '../primitives/encoding.js'
import { secretList } from '../primitives/keys.js'
import { maxCookieBytes } from '../primitives/limits.js'
import { randomBytesPooled } from '../primitives/random.js'
import { createWebAead, createWebMac, deriveKeyWeb, keyIdWeb } from '../primitives/web-crypto.js'
import { xchachaJs, xchachaNonceBytes, xchachaTagBytes } from '../primitives/xchacha.js'
import {
  badSignature,
  iatPattern,
  malformed,
  metaText,
  type NativeCodecOptions,
  noKeys,
  readPayload,
  tooLarge,
  unknownKey,
} from './native.js'
import { createNativeJSON } from './tagged-json.js'
import type { AsyncCookieCodec, DecodeResult, SessionData, SessionMeta } from './types.js'

/**
 * The crypto of one cookie mode under one secret. `bound` is what the value is bound to: the
 * cookie name, a NUL, and the value's head (`<mode>.<key id>.<issued at>`).
 */
export interface Sealer {
  /** The value's tail, after `<head>.`, carrying `text`. */
  seal(bound: string, text: string): Promise<string>
  /** The text in `tail`, or why the tail is refused. Never rejects. */
  open(bound: string, tail: string): Promise<string | DecodeResult>
}

/** A mode of the native framing: its prefix and how it makes a key's sealer from a secret. */
export interface NativeMode {
  /** The value's first segment, e.g. `e1`. */
  mode: string
  /** The name of the format, as `CookieCodec.format`. */
  format: string
  /** The mode's sealer for one secret. */
  sealer(secret: Uint8Array): Promise<Sealer>
}

/** HMAC-SHA256 over the head and the base64url JSON: `s1.`. */
export const signedMode: NativeMode = {
  mode: 's1',
  format: 'native',
  async sealer(secret) {
    const mac = createWebMac(await deriveKeyWeb(secret, 'cookie-mac'))
    return {
      async seal(bound, text) {
        const body = toBase64url(utf8Bytes(text))
        return `${body}.${await mac.sign(`${bound}.${body}`)}`
      },
      async open(bound, tail) {
        const dot = tail.indexOf('.')
        if (dot < 0) return malformed
        const body = tail.slice(0, dot)
        if (!isBase64url(body)) return malformed
        if (!(await mac.matches(`${bound}.${body}`, tail.slice(dot + 1)))) return badSignature
        return utf8Text(decodeLoose(body))
      },
    }
  },
}

/** AES-256-GCM with the head as additional data: `e1.`. */
export const sealedMode: NativeMode = {
  mode: 'e1',
  format: 'encrypted',
  async sealer(secret) {
    const aead = createWebAead(await deriveKeyWeb(secret, 'cookie-aes-256-gcm'))
    return {
      async seal(bound, text) {
        const iv = randomBytesPooled(12)
        const sealed = await aead.seal(iv, utf8Bytes(bound), utf8Bytes(text))
        return toBase64url(concatBytes(iv, sealed))
      },
      async open(bound, tail) {
        if (!isBase64url(tail)) return malformed
        const sealed = decodeCanonicalBase64url(tail)
        if (sealed === null || sealed.length < 12 + 16) return malformed
        const text = await aead.open(sealed.subarray(0, 12), utf8Bytes(bound), sealed.subarray(12))
        return text === null ? badSignature : utf8Text(text)
      },
    }
  },
}

/** XChaCha20-Poly1305 with the head as additional data: `e2.`, what encrypted codecs write. */
export const xchachaMode: NativeMode = {
  mode: 'e2',
  format: 'encrypted',
  async sealer(secret) {
    const key = await deriveKeyWeb(secret, 'cookie-xchacha20-poly1305')
    return {
      async seal(bound, text) {
        const nonce = randomBytesPooled(xchachaNonceBytes)
        const sealed = xchachaJs.seal(key, nonce, utf8Bytes(text), utf8Bytes(bound))
        return toBase64url(concatBytes(nonce, sealed))
      },
      async open(bound, tail) {
        if (!isBase64url(tail)) return malformed
        const sealed = decodeCanonicalBase64url(tail)
        if (sealed === null || sealed.length < xchachaNonceBytes + xchachaTagBytes) return malformed
        const text = xchachaJs.open(
          key,
          sealed.subarray(0, xchachaNonceBytes),
          sealed.subarray(xchachaNonceBytes),
          utf8Bytes(bound),
        )
        return text === null ? badSignature : utf8Text(text)
      },
    }
  },
}

/**
 * A codec for tessera's native cookies over Web Crypto, asynchronous. Encrypted: writes `e2.`
 * and still reads `e1.`, as the Node codec does.
 */
export function createWebNativeCodec(options: NativeCodecOptions): AsyncCookieCodec {
  return options.encrypt
    ? createAsyncNativeCodec(options, xchachaMode, [sealedMode])
    : createAsyncNativeCodec(options, signedMode)
}

interface WebKey {
  id: string
  index: number
  sealer: Sealer
}

/** A mode's keys by id, derived on first use. */
type ModeKeys = () => Promise<Map<string, WebKey>>

/**
 * A codec of the native framing (`<mode>.<key id>.<issued at>.<tail>`, JSON
 * `[data, created, user, permanent]`) whose tail `mode` seals. Keys are derived on first use:
 * Web Crypto derives asynchronously, and a codec is made synchronously at the app's start.
 */
export function createAsyncNativeCodec(
  options: NativeCodecOptions,
  mode: NativeMode,
  alsoReads: readonly NativeMode[] = [],
): AsyncCookieCodec {
  const json = options.json ?? createNativeJSON()
  const name = options.name ?? 'session'
  const maxValueLength = options.maxLength ?? maxCookieBytes - utf8Length(name) - 1
  const skew = (options.clockSkew ?? 60) * 1000
  // Checked now, so a bad secret fails at the app's start as with the Node codec.
  const secrets = secretList(options.secrets, options.minSecretBytes)
  const keysOf = (m: NativeMode): ModeKeys => {
    let ready: Promise<Map<string, WebKey>> | null = null
    return () => {
      ready ??= Promise.all(
        secrets.map(async (secret, index) => ({
          id: await keyIdWeb(secret),
          index,
          sealer: await m.sealer(secret),
        })),
      ).then((list) => new Map(list.map((key) => [key.id, key])))
      return ready
    }
  }
  const keys = keysOf(mode)
  // Every mode this codec reads, by its prefix (`e2.`, `e1.`…).
  const readers = new Map<string, ModeKeys>([
    [`${mode.mode}.`, keys],
    ...alsoReads.map((m): [string, ModeKeys] => [`${m.mode}.`, keysOf(m)]),
  ])
  let current: WebKey | null = null

  async function encode(data: SessionData, meta: SessionMeta, now: number): Promise<string> {
    const text = `[${json.stringify(data)}${metaText(meta)}]`
    current ??= (await keys()).values().next().value ?? null
    const key = current!
    const head = `${mode.mode}.${key.id}.${Math.floor(now / 1000).toString(36)}`
    return `${head}.${await key.sealer.seal(`${name}\0${head}`, text)}`
  }

  async function decode(
    value: string,
    { now, maxAge }: { now: number; maxAge: number },
  ): Promise<DecodeResult> {
    if (value.length > maxValueLength) return tooLarge
    // Every mode's prefix is two characters and a dot.
    const prefix = value.slice(0, 3)
    const modeKeys = readers.get(prefix)
    if (!modeKeys) return malformed
    const idEnd = value.indexOf('.', prefix.length)
    const iatEnd = idEnd < 0 ? -1 : value.indexOf('.', idEnd + 1)
    if (iatEnd < 0) return malformed
    const id = value.slice(prefix.length, idEnd)
    const iat = value.slice(idEnd + 1, iatEnd)
    if (!iatPattern.test(iat)) return malformed
    const key = (await modeKeys()).get(id)
    if (!key) return unknownKey
    const opened = await key.sealer.open(
      `${name}\0${value.slice(0, iatEnd)}`,
      value.slice(iatEnd + 1),
    )
    if (typeof opened !== 'string') return opened
    return readPayload(opened, iat, key.index, now, maxAge, skew, json)
  }

  return {
    format: mode.format,
    reservedKeys: noKeys,
    lifetimes: true,
    async: true,
    encode,
    decode,
  }
}

/**
 * The bytes of base64url text as Node's decoder reads it: the signed body is vouched for by the
 * MAC, so its spelling needs no canonical check, as in `native.ts`. A last group of one
 * character holds no whole byte, and Node drops it; the forgiving decoder behind `atob` drops
 * a last character's spare bits, as Node does.
 */
function decodeLoose(text: string): Uint8Array {
  return fromBase64(text.length % 4 === 1 ? text.slice(0, -1) : text)
}
