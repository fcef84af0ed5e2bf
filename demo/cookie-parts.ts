/**
 * The inspector's cookie table: a session cookie the server accepted, split into its parts
 * (format, key id, time, data, signature) with what each means, and its data decoded.
 * @module
 */
import pako from 'pako'
import { escapeHtml, jsonBlock, prettyJson, timeHtml } from './html.js'
import type { InspectInput } from './inspector.js'

/** Splits a cookie that the server accepted into its parts, and decodes its data. */
export function decodeCookie(input: InspectInput, value: string): string {
  const { sessions, now } = input
  const row = (part: string, meaning: string) =>
    `<tr><th scope="row"><code>${escapeHtml(abbreviate(part))}</code></th><td>${meaning}</td></tr>`
  const table = (rows: string[]) =>
    `<table class="parts"><caption>The cookie, part by part</caption>
<thead><tr><th scope="col">Part</th><th scope="col">What it is</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`
  const segments = value.split('.')
  if (sessions.description === 'cookie/native' && segments.length === 5) {
    const [format, kid, iat, data, mac] = segments as [string, string, string, string, string]
    const text = Buffer.from(data, 'base64url').toString('utf8')
    return `${table([
      row(
        format,
        'The format: tessera’s native cookie, signed (<code>e1</code> would be encrypted).',
      ),
      row(
        kid,
        'Which secret signed it: a short hash of the key, so rotation knows which to check. Not the secret.',
      ),
      row(
        iat,
        `When it was issued, in base-36 seconds: ${timeHtml(Number.parseInt(iat, 36) * 1000, now)}.`,
      ),
      row(
        data,
        'The data: JSON in base64url, decoded below. Readable by anyone holding the cookie.',
      ),
      row(
        mac,
        'The HMAC-SHA256 of the cookie’s name and everything before it. Change one byte and it no longer matches.',
      ),
    ])}
<h3>The data, decoded</h3>
<pre class="code" tabindex="0" aria-label="The decoded data"><code>${escapeHtml(prettyJson(text))}</code></pre>`
  }
  if (sessions.description === 'cookie/encrypted' && segments.length === 4) {
    const [format, kid, iat, sealed] = segments as [string, string, string, string]
    const bytes = Buffer.from(sealed, 'base64url').length
    return `${table([
      row(format, 'The format: tessera’s native cookie, encrypted.'),
      row(
        kid,
        'Which secret sealed it: a short hash of the key, so rotation knows which to use. Not the secret.',
      ),
      row(
        iat,
        `When it was issued, in base-36 seconds: ${timeHtml(Number.parseInt(iat, 36) * 1000, now)}.`,
      ),
      row(
        sealed,
        `The data, sealed with AES-256-GCM: ${bytes} bytes (a 12-byte nonce, the ciphertext, a 16-byte tag). Your browser cannot read it.`,
      ),
    ])}
<h3>What the server decrypted</h3>
${jsonBlock(input.snapshot, 'The decrypted data')}`
  }
  if (sessions.description === 'cookie/flask') {
    const decoded = decodeFlask(value)
    if (decoded) {
      return `${table([
        row(
          decoded.payload,
          `The data: JSON in base64url${decoded.compressed ? ', zlib-compressed (the leading dot says so)' : ''}, decoded below. Readable by anyone holding the cookie.`,
        ),
        row(
          decoded.timestamp,
          `When it was signed, as itsdangerous writes it: ${timeHtml(decoded.issuedAt, now)}.`,
        ),
        row(
          decoded.signature,
          'The signature: HMAC-SHA1 with a key derived from <code>SECRET_KEY</code> and the salt <code>cookie-session</code>.',
        ),
      ])}
<h3>The data, decoded</h3>
<pre class="code" tabindex="0" aria-label="The decoded data"><code>${escapeHtml(prettyJson(decoded.json))}</code></pre>`
    }
  }
  return `<h3>What the server read</h3>\n${jsonBlock(input.snapshot, 'The session data')}`
}

/** The parts of a Flask cookie the server has already verified. */
function decodeFlask(value: string): {
  payload: string
  timestamp: string
  signature: string
  compressed: boolean
  json: string
  issuedAt: number
} | null {
  try {
    const sigDot = value.lastIndexOf('.')
    const tsDot = value.lastIndexOf('.', sigDot - 1)
    if (tsDot <= 0) return null
    const payload = value.slice(0, tsDot)
    const compressed = payload.startsWith('.')
    const bytes = Buffer.from(compressed ? payload.slice(1) : payload, 'base64url')
    const json = compressed ? Buffer.from(pako.inflate(bytes)).toString('utf8') : bytes.toString()
    const timestamp = value.slice(tsDot + 1, sigDot)
    let seconds = 0
    for (const byte of Buffer.from(timestamp, 'base64url')) seconds = seconds * 256 + byte
    return {
      payload,
      timestamp,
      signature: value.slice(sigDot + 1),
      compressed,
      json,
      issuedAt: seconds * 1000,
    }
  } catch {
    return null
  }
}

/** A long cookie part, shortened for the table. */
function abbreviate(part: string): string {
  return part.length > 24 ? `${part.slice(0, 12)}…${part.slice(-6)}` : part
}
