/**
 * tessera's own cookie format: tagged JSON, signed with HMAC-SHA256 or sealed with AES-256-GCM.
 *
 *   signed:    s1.<key id>.<issued at, base36 seconds>.<base64url JSON>.<base64url MAC>
 *   encrypted: e2.<key id>.<issued at, base36 seconds>.<base64url (nonce | ciphertext | tag)>
 *   (before 0.2: e1.<key id>.<issued at>.<base64url (IV | ciphertext | tag)>)
 *
 * `e2.` is XChaCha20-Poly1305 (24-byte random nonce) under the HKDF subkey
 * `cookie-xchacha20-poly1305`; `e1.`, AES-256-GCM (12-byte IV) under `cookie-aes-256-gcm`, is
 * still read, so cookies issued before keep working, and never written.
 *
 * The JSON is `[data, created, user, permanent, generation, maxAge]`: the session's tagged-JSON
 * data, then tessera's metadata beside it (when the session began in unix seconds or null, the
 * bound user or null, 1 when permanent, the user's generation in revocable cookie sessions or 0,
 * the session's own lifetime in seconds; trailing defaults left out), so no key of the data is
 * ever read as metadata. A plain object is a 0.1 cookie, whose metadata sat among the data under `_created`,
 * `_user` and `_permanent`: it still reads.
 *
 * The MAC (or the AEAD's additional data) covers the cookie name and everything before it, so a
 * value minted for another cookie, format or mode never verifies here.
 * @module
 */
import { utf8Length } from '../primitives/bytes.js'
import {
  decodeCanonicalBase64url,
  isBase64url,
  isCanonicalBase64url,
} from '../primitives/encoding.js'
import {
  createMac,
  deriveKey,
  keyId,
  type Mac,
  requireNodeCrypto,
  type Secrets,
  secretList,
} from '../primitives/keys.js'
import { maxCookieBytes } from '../primitives/limits.js'
import { randomBytesPooled } from '../primitives/random.js'
import { type XChaCha, xchachaNonceBytes, xchachaTagBytes } from '../primitives/xchacha.js'
import { xchacha } from '../primitives/xchacha-native.js'
import { createNativeJSON, isPlainObject, type TaggedJSON } from './tagged-json.js'
import type { CookieCodec, DecodeOptions, DecodeResult, SessionData, SessionMeta } from './types.js'

/** Options of `createNativeCodec`. */
export interface NativeCodecOptions {
  /** One secret or a rotation list, newest first: the first signs, all verify. */
  secrets: Secrets
  /** Seal the data with AES-256-GCM, so the client cannot read it. @default false */
  encrypt?: boolean
  /** The cookie name the value is bound to. @default 'session' */
  name?: string
  /** The tagged-JSON instance, for apps that register tags of their own. */
  json?: TaggedJSON
  /** Seconds a cookie may be dated in the future, for clock skew between servers. @default 60 */
  clockSkew?: number
  /** Minimum secret length in bytes. @default 32 */
  minSecretBytes?: number
  /**
   * The longest value accepted, for values longer than one cookie (a chunked cookie, a header
   * token). @default what one cookie holds: 4096 bytes less the name and `=`
   */
  maxLength?: number
  /**
   * The XChaCha20-Poly1305 implementation of encrypted cookies, for tests that pin one.
   * @internal
   */
  xchacha?: XChaCha
}

/** Where a cookie's crypto runs: `node:crypto` (synchronous) or Web Crypto (asynchronous). */
export type CryptoBackend = 'node' | 'web'

interface Key {
  id: string
  mac: Mac
  /** The AES-256-GCM key of `e1.` cookies, read only. */
  gcm: Buffer
  /** The XChaCha20-Poly1305 key of `e2.` cookies. */
  seal: Buffer
}

/** The issue time's segment: base36 seconds. */
export const iatPattern: RegExp = /^[0-9a-z]{1,10}$/
// Shared, frozen failures: a flood of bad cookies allocates nothing for its answers.
export const tooLarge: DecodeResult = Object.freeze({ ok: false, reason: 'too_large' })
export const malformed: DecodeResult = Object.freeze({ ok: false, reason: 'malformed' })
export const unknownKey: DecodeResult = Object.freeze({ ok: false, reason: 'unknown_key' })
export const badSignature: DecodeResult = Object.freeze({ ok: false, reason: 'bad_signature' })

/** A codec for tessera's native cookies, over `node:crypto`, synchronous. */
export function createNativeCodec(options: NativeCodecOptions): CookieCodec {
  const { createDecipheriv } = requireNodeCrypto('the native cookie codec')
  // Per codec, not per module: the edge build loads this module where no Buffer exists.
  /** Room for the payload of the longest cookie a browser keeps. */
  const scratch = Buffer.alloc(maxCookieBytes)
  /** Where a cookie's nonce and plaintext are put together before sealing. */
  const sealScratch = Buffer.alloc(maxCookieBytes * 3)
  const encrypt = options.encrypt ?? false
  const json = options.json ?? createNativeJSON()
  const name = options.name ?? 'session'
  // No browser keeps a longer value, so none can have been issued: refused before any crypto.
  const maxValueLength = options.maxLength ?? maxCookieBytes - utf8Length(name) - 1
  const skew = (options.clockSkew ?? 60) * 1000
  const mode = encrypt ? 'e2' : 's1'
  const aead = encrypt ? (options.xchacha ?? xchacha()) : null
  const keys: Key[] = secretList(options.secrets, options.minSecretBytes).map((secret) => ({
    id: keyId(secret),
    mac: createMac(deriveKey(secret, 'cookie-mac'), `${name}\0`),
    gcm: deriveKey(secret, 'cookie-aes-256-gcm'),
    seal: deriveKey(secret, 'cookie-xchacha20-poly1305'),
  }))
  const byId = new Map(keys.map((key, index) => [key.id, { key, index }]))
  const current = keys[0]!

  function encode(data: SessionData, meta: SessionMeta, now: number): string {
    const text = `[${json.stringify(data)}${metaText(meta)}]`
    const head = `${mode}.${current.id}.${Math.floor(now / 1000).toString(36)}`
    if (!encrypt) {
      const body = Buffer.from(text, 'utf8').toString('base64url')
      const signed = `${head}.${body}`
      return `${signed}.${current.mac.sign(signed)}`
    }
    // The nonce and the plaintext side by side in a kept buffer; the nonce is 24 bytes, a whole
    // number of base64 groups, so its text and the sealed bytes' text join without re-encoding.
    const room = xchachaNonceBytes + text.length * 3
    const plain = room > sealScratch.length ? Buffer.allocUnsafe(room) : sealScratch
    plain.set(randomBytesPooled(xchachaNonceBytes), 0)
    const length = plain.write(text, xchachaNonceBytes, 'utf8')
    const nonce = plain.subarray(0, xchachaNonceBytes)
    const aad = Buffer.from(`${name}\0${head}`, 'utf8')
    const sealed = aead!.seal(
      current.seal,
      nonce,
      plain.subarray(xchachaNonceBytes, xchachaNonceBytes + length),
      aad,
    )
    return `${head}.${Buffer.from(nonce).toString('base64url')}${Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length).toString('base64url')}`
  }

  function decode(value: string, { now, maxAge }: DecodeOptions): DecodeResult {
    if (value.length > maxValueLength) return tooLarge
    // Segments found with indexOf, not split: this runs on every request that has a cookie.
    // Every version tag is two characters and a dot; an encrypting codec reads both of its own.
    const sealedWith = !encrypt
      ? value.startsWith('s1.')
        ? 's1'
        : null
      : value.startsWith('e2.')
        ? 'e2'
        : value.startsWith('e1.')
          ? 'e1'
          : null
    if (sealedWith === null) return malformed
    const idEnd = value.indexOf('.', 3)
    const iatEnd = idEnd < 0 ? -1 : value.indexOf('.', idEnd + 1)
    if (iatEnd < 0) return malformed
    const bodyEnd = encrypt ? value.length : value.indexOf('.', iatEnd + 1)
    if (bodyEnd < 0) return malformed
    const id = value.slice(3, idEnd)
    const iat = value.slice(idEnd + 1, iatEnd)
    const body = value.slice(iatEnd + 1, bodyEnd)
    // A MAC holds no dot (the verifier checks its alphabet), so a sixth segment fails there.
    if (!iatPattern.test(iat) || !isBase64url(body)) return malformed
    const found = byId.get(id)
    if (!found) return unknownKey
    let text: string
    if (sealedWith === 's1') {
      if (!found.key.mac.matches(value.slice(0, bodyEnd), value.slice(bodyEnd + 1))) {
        return badSignature
      }
      // Into a buffer kept for the purpose: no Buffer made per request for the payload (one
      // made for a value longer than a cookie: a chunked cookie's, a token's).
      text =
        body.length <= maxCookieBytes
          ? scratch.toString('utf8', 0, scratch.write(body, 'base64url'))
          : Buffer.from(body, 'base64url').toString('utf8')
    } else if (sealedWith === 'e2') {
      if (!isCanonicalBase64url(body)) return malformed
      const bytes = body.length <= maxCookieBytes ? scratch : Buffer.from(body, 'base64url')
      const length = bytes === scratch ? scratch.write(body, 'base64url') : bytes.length
      if (length < xchachaNonceBytes + xchachaTagBytes) return malformed
      const opened = aead!.open(
        found.key.seal,
        bytes.subarray(0, xchachaNonceBytes),
        bytes.subarray(xchachaNonceBytes, length),
        Buffer.from(`${name}\0${value.slice(0, iatEnd)}`, 'utf8'),
      )
      if (opened === null) return badSignature
      text = Buffer.from(opened.buffer, opened.byteOffset, opened.length).toString('utf8')
    } else {
      const sealed = decodeCanonicalBase64url(body)
      if (sealed === null || sealed.length < 12 + 16) return malformed
      try {
        const decipher = createDecipheriv('aes-256-gcm', found.key.gcm, sealed.subarray(0, 12))
        decipher.setAAD(Buffer.from(`${name}\0${value.slice(0, iatEnd)}`, 'utf8'))
        decipher.setAuthTag(sealed.subarray(sealed.length - 16))
        text = Buffer.concat([
          decipher.update(sealed.subarray(12, sealed.length - 16)),
          decipher.final(),
        ]).toString('utf8')
      } catch {
        return badSignature
      }
    }
    return readPayload(text, iat, found.index, now, maxAge, skew, json)
  }

  return {
    format: encrypt ? 'encrypted' : 'native',
    reservedKeys: noKeys,
    lifetimes: true,
    encode,
    decode,
  }
}

/**
 * The session in a verified cookie's JSON `text`, once its MAC or tag has vouched for it:
 * the issue time checked against the clock, then the data and metadata.
 */
export function readPayload(
  text: string,
  iat: string,
  keyIndex: number,
  now: number,
  maxAge: number,
  skew: number,
  json: TaggedJSON,
): DecodeResult {
  // Timestamps are checked only once the MAC has vouched for them.
  const issuedAt = Number.parseInt(iat, 36) * 1000
  if (issuedAt - now > skew) return { ok: false, reason: 'future' }
  // The deadline itself is past, as a store's `expiresAt` is.
  if (now - issuedAt >= maxAge * 1000) return { ok: false, reason: 'expired' }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'bad_payload' }
  }
  let data: unknown
  let meta: SessionMeta
  try {
    if (Array.isArray(parsed)) {
      meta = readMeta(parsed)
      data = json.untag(parsed[0])
    } else {
      data = json.untag(parsed)
      if (!isPlainObject(data)) return { ok: false, reason: 'not_object' }
      meta = legacyMeta(data)
    }
  } catch {
    return { ok: false, reason: 'bad_payload' }
  }
  if (!isPlainObject(data)) return { ok: false, reason: 'not_object' }
  return { ok: true, data, meta, issuedAt, keyIndex }
}

/** A native cookie's reserved keys: none, its metadata travels beside the data. */
export const noKeys: ReadonlySet<string> = new Set()

/**
 * The metadata as the cookie writes it, after the data:
 * `,created[,user[,permanent[,generation[,maxAge]]]]`.
 */
export function metaText(meta: SessionMeta): string {
  const created = meta.createdAt === null ? 'null' : String(Math.floor(meta.createdAt / 1000))
  const generation = meta.user === null ? 0 : (meta.generation ?? 0)
  if (typeof meta.maxAge === 'number') {
    const user = meta.user === null ? 'null' : JSON.stringify(meta.user)
    return `,${created},${user},${meta.permanent ? 1 : 0},${generation},${meta.maxAge}`
  }
  if (generation > 0) {
    return `,${created},${JSON.stringify(meta.user)},${meta.permanent ? 1 : 0},${generation}`
  }
  if (meta.permanent)
    return `,${created},${meta.user === null ? 'null' : JSON.stringify(meta.user)},1`
  if (meta.user !== null) return `,${created},${JSON.stringify(meta.user)}`
  return `,${created}`
}

/**
 * The metadata of a cookie's `[data, created, user, permanent, generation, maxAge]` array.
 * Throws on a shape this codec never writes.
 */
function readMeta(parsed: unknown[]): SessionMeta {
  const length = parsed.length
  if (length < 2 || length > 6) throw new TypeError('a session is 2 to 6 entries')
  const created = parsed[1]
  const user = length > 2 ? parsed[2] : null
  const permanent = length > 3 ? parsed[3] : 0
  const generation = length > 4 ? parsed[4] : 0
  if (created !== null && !(Number.isSafeInteger(created) && (created as number) >= 0)) {
    throw new TypeError('bad creation time')
  }
  if (user !== null && typeof user !== 'string') throw new TypeError('bad user')
  if (permanent !== 0 && permanent !== 1) throw new TypeError('bad permanence')
  // A generation belongs to a bound user; it is 0 only to make room for a lifetime after it.
  if (
    length > 4 &&
    !(
      Number.isSafeInteger(generation) &&
      (((generation as number) > 0 && user !== null) || (generation === 0 && length > 5))
    )
  ) {
    throw new TypeError('bad generation')
  }
  const meta: SessionMeta = {
    createdAt: created === null ? null : (created as number) * 1000,
    user,
    permanent: permanent === 1,
  }
  if (length > 4 && generation !== 0) meta.generation = generation as number
  if (length > 5) {
    const maxAge = parsed[5]
    if (!(typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge > 0)) {
      throw new TypeError('bad lifetime')
    }
    meta.maxAge = maxAge
  }
  return meta
}

/** The metadata of a 0.1 cookie, taken out of its data, where that version kept it. */
function legacyMeta(data: Record<string, unknown>): SessionMeta {
  const { _created: created, _user: user, _permanent: permanent } = data
  delete data._created
  delete data._user
  delete data._permanent
  return {
    createdAt: typeof created === 'number' ? created * 1000 : null,
    user: typeof user === 'string' ? user : null,
    permanent: permanent === true,
  }
}
