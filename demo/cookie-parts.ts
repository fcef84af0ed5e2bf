/**
 * The inspector's cookie section in cookie mode: which of the request's session cookie values
 * the server verified, that one split into its parts (format, key id, time, data, signature)
 * with what each means, and, for the others, only why they were refused.
 *
 * Nothing here decodes a value the codec has not verified: a forged value is attacker's data
 * (a zlib bomb in Flask's format, an issue time no `Date` can hold), and showing it decoded
 * would present it as the session. Each value is checked by the sessions' own codec, within
 * its size and depth limits; the data shown is what the library read.
 * @module
 */
import type { RejectReason } from 'tessera'
import type { CookieCheck } from './config.js'
import { escapeHtml, jsonBlock, timeHtml } from './html.js'
import type { InspectInput } from './inspector.js'

/**
 * How many values of the cookie are checked. A browser sends one, two when a sibling site
 * planted another; the rest of a crafted header is only counted.
 */
export const maxCheckedValues = 8

/** One value of the session cookie, as the codec found it. */
type Verdict =
  | { value: string; ok: true; issuedAt: number }
  | { value: string; ok: false; reason: RejectReason }

/** The cookie section for a request that carried `values` (non-empty, distinct). */
export function cookieValuesSection(
  input: InspectInput,
  values: readonly string[],
  check: CookieCheck | null,
): string {
  const { session, now } = input
  const checked = values.slice(0, maxCheckedValues)
  const unchecked = values.length - checked.length
  const verdicts: Verdict[] | null = check
    ? checked.map((value) => {
        const result = check.codec.decode(value, { now, maxAge: check.maxAge })
        return result.ok
          ? { value, ok: true, issuedAt: result.issuedAt }
          : { value, ok: false, reason: result.reason }
      })
    : null
  const accepted = session.rejectedReason === null && !session.isNew
  // The value the library used: the one that verified, when exactly one did and it accepted it.
  // Without the codec (an app made without `cookieCheck`), only a lone value can be named.
  let used: string | null = null
  if (accepted) {
    if (verdicts) {
      const good = verdicts.filter((v) => v.ok)
      if (good.length === 1) used = good[0]!.value
    } else if (values.length === 1) {
      used = values[0]!
    }
  }

  const parts: string[] = []
  if (!accepted) {
    parts.push(
      `<p>A <code>${escapeHtml(input.sessions.cookieName)}</code> cookie came, but it was refused (<code>${escapeHtml(session.rejectedReason ?? 'unknown')}</code>), so this request got a fresh, empty session. From outside, every reason looks the same.</p>`,
    )
  }
  if (values.length > 1) {
    parts.push(
      `<p>The request carried ${values.length} values of this cookie (a sibling site can plant one). The server uses a value only if it is the one whose signature verifies; the others are listed here with why they were refused, never their contents.</p>`,
    )
  }
  if (verdicts && (values.length > 1 || !accepted)) parts.push(verdictTable(verdicts, used))
  if (unchecked > 0) {
    parts.push(`<p>${unchecked} more value${unchecked === 1 ? '' : 's'} not examined.</p>`)
  }
  if (used !== null) {
    const issuedAt = verdicts?.find((v) => v.value === used && v.ok) as
      | Extract<Verdict, { ok: true }>
      | undefined
    parts.push(usedValue(input, used, issuedAt?.issuedAt ?? null))
  } else if (accepted) {
    parts.push(`<h3>What the server read</h3>\n${jsonBlock(input.snapshot, 'The session data')}`)
  }
  return parts.join('\n')
}

function verdictTable(verdicts: readonly Verdict[], used: string | null): string {
  const rows = verdicts.map((v, i) => {
    const outcome = v.ok
      ? v.value === used
        ? 'verified: this is the session, shown below'
        : 'verified, but not used: two different valid values leave the server unable to tell which the browser meant, so it uses neither'
      : `refused: <code>${escapeHtml(v.reason)}</code>`
    return `<tr><th scope="row">${i + 1}</th><td>${v.value.length} bytes</td><td>${outcome}</td></tr>`
  })
  return `<table class="parts"><caption>The values of the cookie, in the order sent</caption>
<thead><tr><th scope="col">#</th><th scope="col">Size</th><th scope="col">What the server made of it</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`
}

/** The value the server verified and used, part by part, and the data it read from it. */
function usedValue(input: InspectInput, value: string, issuedAt: number | null): string {
  const { sessions, now } = input
  const row = (part: string, meaning: string) =>
    `<tr><th scope="row"><code>${escapeHtml(abbreviate(part))}</code></th><td>${meaning}</td></tr>`
  const table = (rows: string[]) =>
    `<table class="parts"><caption>The cookie, part by part</caption>
<thead><tr><th scope="col">Part</th><th scope="col">What it is</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`
  const when = issuedAt === null ? 'not known here' : timeHtml(issuedAt, now)
  const head = `<dl class="facts">
<dt>Name</dt><dd><code>${escapeHtml(sessions.cookieName)}</code></dd>
<dt>Value</dt><dd>${value.length} of the 4096 bytes a browser keeps for one cookie.<pre class="code" tabindex="0" aria-label="The cookie value"><code>${escapeHtml(value)}</code></pre></dd>
</dl>`
  const data = (title: string, label: string) =>
    `<h3>${title}</h3>\n${jsonBlock(input.snapshot, label)}`
  const segments = value.split('.')
  if (sessions.description === 'cookie/native' && segments.length === 5) {
    const [format, kid, iat, payload, mac] = segments as [string, string, string, string, string]
    return `${head}
${table([
  row(format, 'The format: tessera’s native cookie, signed (<code>e1</code> would be encrypted).'),
  row(
    kid,
    'Which secret signed it: a short hash of the key, so rotation knows which to check. Not the secret.',
  ),
  row(iat, `When it was issued, in base-36 seconds: ${when}.`),
  row(
    payload,
    'The data: JSON in base64url, decoded below. Readable by anyone holding the cookie.',
  ),
  row(
    mac,
    'The HMAC-SHA256 of the cookie’s name and everything before it. Change one byte and it no longer matches.',
  ),
])}
${data('The data, decoded', 'The decoded data')}`
  }
  if (sessions.description === 'cookie/encrypted' && segments.length === 4) {
    const [format, kid, iat, sealed] = segments as [string, string, string, string]
    const bytes = Buffer.from(sealed, 'base64url').length
    return `${head}
${table([
  row(format, 'The format: tessera’s native cookie, encrypted.'),
  row(
    kid,
    'Which secret sealed it: a short hash of the key, so rotation knows which to use. Not the secret.',
  ),
  row(iat, `When it was issued, in base-36 seconds: ${when}.`),
  row(
    sealed,
    `The data, sealed with AES-256-GCM: ${bytes} bytes (a 12-byte nonce, the ciphertext, a 16-byte tag). Your browser cannot read it.`,
  ),
])}
${data('What the server decrypted', 'The decrypted data')}`
  }
  if (sessions.description === 'cookie/flask' && segments.length >= 3) {
    const sigDot = value.lastIndexOf('.')
    const tsDot = value.lastIndexOf('.', sigDot - 1)
    const payload = value.slice(0, tsDot)
    const compressed = payload.startsWith('.')
    return `${head}
${table([
  row(
    payload,
    `The data: JSON in base64url${compressed ? ', zlib-compressed (the leading dot says so)' : ''}, decoded below. Readable by anyone holding the cookie.`,
  ),
  row(value.slice(tsDot + 1, sigDot), `When it was signed, as itsdangerous writes it: ${when}.`),
  row(
    value.slice(sigDot + 1),
    'The signature: HMAC-SHA1 with a key derived from <code>SECRET_KEY</code> and the salt <code>cookie-session</code>.',
  ),
])}
${data('The data, decoded', 'The decoded data')}`
  }
  return `${head}\n${data('What the server read', 'The session data')}`
}

/** A long cookie part, shortened for the table. */
function abbreviate(part: string): string {
  return part.length > 24 ? `${part.slice(0, 12)}…${part.slice(-6)}` : part
}
