/**
 * The plan's white-box `testSigner`: seals arbitrary payloads with the configured keys, in each
 * of tessera's formats, so cases can present cookies that verify but carry hostile content
 * (future or malformed timestamps, prototype keys, non-object payloads). It re-implements the
 * formats from their documentation (`src/codecs/native.ts`, `src/codecs/flask/`,
 * `src/session/sessions.ts`) on top of the library's key derivation.
 * @module
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto'
import { deriveKey, hmac, keyId } from '../../src/primitives/keys.js'
import type { Mode, TestApp } from './app.js'

export interface NativeParts {
  /** `s1` or `e1` unless overridden. */
  version?: string
  kid?: string
  /** The issued-at segment as text (base36 seconds when well-formed). */
  iat?: string
  /** The JSON text of the payload. */
  json: string
}

/** Native cookies (signed or encrypted) sealed with `secret` for the cookie `name`. */
export function nativeSigner(secret: Uint8Array, name: string, encrypt: boolean) {
  const bytes = Buffer.from(secret)
  const macKey = deriveKey(bytes, 'cookie-mac')
  const encKey = deriveKey(bytes, 'cookie-aes-256-gcm')
  const kid = keyId(bytes)
  return {
    kid,
    /** A cookie value with any segment text, correctly MACed or sealed over it. */
    seal(parts: NativeParts, nowMs: number): string {
      const version = parts.version ?? (encrypt ? 'e1' : 's1')
      const iat = parts.iat ?? Math.floor(nowMs / 1000).toString(36)
      const head = `${version}.${parts.kid ?? kid}.${iat}`
      if (!encrypt) {
        const signed = `${head}.${Buffer.from(parts.json, 'utf8').toString('base64url')}`
        return `${signed}.${hmac(macKey, `${name}\0${signed}`).toString('base64url')}`
      }
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', encKey, iv)
      cipher.setAAD(Buffer.from(`${name}\0${head}`, 'utf8'))
      const sealed = Buffer.concat([
        iv,
        cipher.update(parts.json, 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ])
      return `${head}.${sealed.toString('base64url')}`
    },
  }
}

/** Flask cookies (itsdangerous's timed signer, salt `cookie-session`, HMAC-SHA1). */
export function flaskSigner(secret: Uint8Array) {
  const key = createHmac('sha1', Buffer.from(secret)).update('cookie-session').digest()
  return {
    /** A cookie value for `json` (uncompressed), dated `seconds`, or with a raw timestamp text. */
    seal(json: string, seconds: number, timestampText?: string): string {
      const payload = Buffer.from(json, 'latin1').toString('base64url')
      const ts = timestampText ?? timestamp(seconds)
      const message = `${payload}.${ts}`
      return `${message}.${createHmac('sha1', key).update(message, 'latin1').digest('base64url')}`
    },
  }
}

function timestamp(seconds: number): string {
  const out: number[] = []
  for (let t = seconds; t > 0; t = Math.floor(t / 256)) out.unshift(t % 256)
  return Buffer.from(out).toString('base64url')
}

/** A server-side cookie value `id.mac` for `id`, signed as tessera signs ids. */
export function signId(secret: Uint8Array, name: string, id: string): string {
  const key = deriveKey(Buffer.from(secret), 'session-id')
  return `${id}.${hmac(key, `${name}\0${id}`).toString('base64url')}`
}

/**
 * A cookie value of `mode` carrying the JSON text `json`, signed with the app's current secret
 * and dated `issuedAtMs` (the app's clock by default). Cookie modes only.
 */
export function sealFor(app: TestApp, json: string, issuedAtMs = app.clock.now()): string {
  const mode: Mode = app.mode
  const secret = app.secrets[0]!
  if (mode.name === 'flask') return flaskSigner(secret).seal(json, Math.floor(issuedAtMs / 1000))
  return nativeSigner(secret, app.sessions.cookieName, mode.name === 'encrypted').seal(
    { json },
    issuedAtMs,
  )
}
