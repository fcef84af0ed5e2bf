/**
 * Cookies made with the real keys but around hand-written JSON text, so the fuzzers reach the
 * JSON parser and the tag engine behind the signature check, where a random string never gets.
 * @module
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { deriveKey, keyId } from '../../../src/primitives/keys.js'

/** The secret every fuzz target signs with. */
export const fuzzSecret = 'fuzz-secret-fuzz-secret-fuzz-secret-0123'
/** The cookie name every fuzz target uses. */
export const cookieName = 'session'

const secretBytes = Buffer.from(fuzzSecret, 'utf8')
const nativeMac = deriveKey(secretBytes, 'cookie-mac')
const nativeEnc = deriveKey(secretBytes, 'cookie-aes-256-gcm')
const nativeKeyId = keyId(secretBytes)
/** itsdangerous's derived key: HMAC-SHA1(secret, 'cookie-session'). */
const flaskKey = createHmac('sha1', secretBytes).update('cookie-session').digest()

function iat(now: number): string {
  return Math.floor(now / 1000).toString(36)
}

/** A native signed cookie (`s1.…`) holding `json` as it is, signed with the fuzz secret. */
export function signNative(json: string | Buffer, now: number, name = cookieName): string {
  const body = Buffer.from(json).toString('base64url')
  const signed = `s1.${nativeKeyId}.${iat(now)}.${body}`
  return `${signed}.${createHmac('sha256', nativeMac).update(`${name}\0${signed}`).digest('base64url')}`
}

/** A native encrypted cookie (`e1.…`) sealing `json` as it is, with the fuzz secret. */
export function sealNative(json: string | Buffer, now: number, name = cookieName): string {
  const head = `e1.${nativeKeyId}.${iat(now)}`
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', nativeEnc, iv)
  cipher.setAAD(Buffer.from(`${name}\0${head}`, 'utf8'))
  const sealed = Buffer.concat([
    iv,
    cipher.update(Buffer.from(json)),
    cipher.final(),
    cipher.getAuthTag(),
  ])
  return `${head}.${sealed.toString('base64url')}`
}

/** A Flask cookie holding `json` as it is (zlib-compressed behind a `.` when asked). */
export function signFlask(json: string | Buffer, now: number, compress = false): string {
  const bytes = Buffer.from(json)
  const payload = compress
    ? `.${deflateSync(bytes).toString('base64url')}`
    : bytes.toString('base64url')
  const stamp: number[] = []
  for (let t = Math.floor(now / 1000); t > 0; t = Math.floor(t / 256)) stamp.unshift(t % 256)
  const message = `${payload}.${Buffer.from(stamp).toString('base64url')}`
  return `${message}.${createHmac('sha1', flaskKey).update(message, 'latin1').digest('base64url')}`
}
