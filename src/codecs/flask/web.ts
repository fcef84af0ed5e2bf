/**
 * Flask's session cookie over Web Crypto: the same values as `codec.ts` writes with
 * `node:crypto` (itsdangerous's HMAC-SHA1, zlib through pako), read and written with promises,
 * for runtimes without `node:crypto` or `node:zlib`. A cookie from either reads with the other,
 * and with Flask.
 * @module
 */
import { toBase64url, utf8Bytes } from '../../primitives/bytes.js'
import { safeEqual } from '../../primitives/keys.js'
import { nodeZlib } from '../../primitives/runtime.js'
import { createWebMac, type WebMac } from '../../primitives/web-crypto.js'
import { inflateJs } from '../inflate.js'
import type {
  AsyncCookieCodec,
  DecodeOptions,
  DecodeResult,
  SessionData,
  SessionMeta,
} from '../types.js'
import {
  type FlaskCodecOptions,
  flaskMessage,
  flaskReservedKeys,
  flaskSecrets,
  type Inflate,
  maxInflatedBytes,
  readSignature,
  readVerified,
  split,
} from './codec.js'

/**
 * A codec for Flask's session cookies over Web Crypto, asynchronous: the values of
 * `createFlaskCodec`, for edge runtimes.
 */
export function createWebFlaskCodec(options: FlaskCodecOptions): AsyncCookieCodec {
  const secrets = flaskSecrets(options)
  const zlib = nodeZlib
  const inflate: Inflate = zlib
    ? (bytes) => zlib.inflateSync(bytes, { maxOutputLength: maxInflatedBytes })
    : inflateJs
  // itsdangerous's "hmac" derivation, HMAC-SHA1(secret, salt), on first use.
  let ready: Promise<WebMac[]> | null = null
  const keys = () => {
    ready ??= Promise.all(
      secrets.map(async (secret) =>
        createWebMac(await createWebMac(secret, 'SHA-1').digest('cookie-session'), 'SHA-1'),
      ),
    )
    return ready
  }

  async function encode(data: SessionData, meta: SessionMeta, now: number): Promise<string> {
    const message = flaskMessage(data, meta, now)
    const [current] = await keys()
    // Flask signs the message's bytes; it is ASCII, so its UTF-8 is its latin1.
    return `${message}.${toBase64url(await current!.digest(utf8Bytes(message)))}`
  }

  async function decode(value: string, { now, maxAge }: DecodeOptions): Promise<DecodeResult> {
    try {
      const parts = split(value)
      if (typeof parts === 'string') return { ok: false, reason: parts }
      // A copy: the shared buffer `readSignature` fills may be refilled while this awaits.
      const given = readSignature(value, parts.sigDot + 1).slice()
      const message = utf8Bytes(value.slice(0, parts.sigDot))
      const list = await keys()
      for (let i = 0; i < list.length; i++) {
        if (safeEqual(await list[i]!.digest(message), given)) {
          return readVerified(value, parts, i, now, maxAge, inflate)
        }
      }
      return { ok: false, reason: 'bad_signature' }
    } catch {
      // Nothing above should throw; a bad cookie must never become a 500.
      return { ok: false, reason: 'malformed' }
    }
  }

  return { format: 'flask', reservedKeys: flaskReservedKeys, async: true, encode, decode }
}
