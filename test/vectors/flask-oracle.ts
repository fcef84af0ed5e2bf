/**
 * An independent oracle for Flask's cookie: signs any JSON text the way itsdangerous signs a
 * Flask session (HMAC-SHA1 key derivation with salt `cookie-session`), written from the format's
 * description rather than from tessera's codec, so the codec's tests do not check it against
 * itself.
 * @module
 */
import { createHmac } from 'node:crypto'
import pako from 'pako'

/** The key the oracle signs with unless told otherwise. */
export const secret = 'test-secret-key'
/** The oracle's clock: 2026-01-01T00:00:00Z, in epoch ms. */
export const now = 1_767_225_600_000

/** A cookie signed the way itsdangerous signs, around any JSON text: an independent oracle. */
export function signRaw(
  json: string | Uint8Array,
  options: {
    key?: string
    seconds?: number
    compress?: boolean
    /** Flag the payload as compressed without compressing it. */
    flagOnly?: boolean
    timestamp?: string
  } = {},
): string {
  const bytes = typeof json === 'string' ? Buffer.from(json, 'utf8') : Buffer.from(json)
  const payload = options.compress
    ? `.${Buffer.from(pako.deflate(bytes)).toString('base64url')}`
    : `${options.flagOnly ? '.' : ''}${bytes.toString('base64url')}`
  const seconds = options.seconds ?? now / 1000
  // Big-endian with no leading zero bytes, as itsdangerous writes it.
  const hex = seconds === 0 ? '' : seconds.toString(16)
  const timestamp =
    options.timestamp ?? Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url')
  const message = `${payload}.${timestamp}`
  const derived = createHmac('sha1', options.key ?? secret)
    .update('cookie-session')
    .digest()
  return `${message}.${createHmac('sha1', derived).update(message).digest('base64url')}`
}
