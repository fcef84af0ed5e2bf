/**
 * The session inspector (`/inspect`): what the session holds and where, for learners. In
 * cookie mode it shows the cookie and decodes it part by part; in store mode the store key and
 * the record. It never prints a raw session id or a secret.
 * @module
 */
import type { Session, Sessions } from 'tessera'
import type { CookieCheck, DemoSession } from './config.js'
import { cookieValuesSection } from './cookie-parts.js'
import { displayIp } from './devices.js'
import { escapeHtml, jsonBlock, timeHtml } from './html.js'

/** What the inspector is given. */
export interface InspectInput {
  sessions: Sessions<DemoSession>
  session: Session<DemoSession>
  /** Values of the session cookie the request carried. */
  cookieValues: readonly string[]
  /** Cookie sessions: their codec, to tell which value verified. */
  cookieCheck: CookieCheck | null
  /** The session's data as the request read it, before the page changed anything. */
  snapshot: Record<string, unknown>
  /** How this request changes the session ("made the CSRF token…"); empty when it does not. */
  changes: readonly string[]
  now: number
}

/** What the well-known keys of the demo's session are for. */
const keyNotes: Record<string, string> = {
  username: 'who you logged in as: the only thing the login form records',
  notes: 'the notes you added on the home page',
  _csrf: 'the CSRF token every form on this site sends back; made on first use, replaced at login',
  _flashes: 'messages waiting for the next page (Flask’s list, kept in cookie sessions)',
}

/** The inspector's page body. Reads the store record in store mode. */
export async function inspectorBody(input: InspectInput): Promise<string> {
  const { sessions, snapshot } = input
  const name = sessions.cookieName
  const values = [...new Set(input.cookieValues.filter((v) => v !== ''))]
  const parts: string[] = []
  parts.push(`<h1>Session inspector</h1>
<p class="lead">What your session holds and where it lives, as the server saw it on this request.
This page shows what is normally kept from view, so it is on in development only:
it is off under <code>NODE_ENV=production</code>, and <code>INSPECTOR=on|off</code> overrides that.</p>`)

  parts.push(`<section aria-labelledby="where"><h2 id="where">Where it lives</h2>
${whereItLives(sessions)}
</section>`)

  parts.push(`<section aria-labelledby="cookie"><h2 id="cookie">The cookie your browser sent</h2>
${cookieSection(input, name, values)}
</section>`)

  const keys = Object.keys(snapshot)
  const legend = keys
    .map((key) => {
      const note = key.startsWith('_flash:')
        ? 'a message waiting for the next page (one key per message in a store, so two requests never overwrite each other)'
        : keyNotes[key]
      return note ? `<dt><code>${escapeHtml(key)}</code></dt><dd>${escapeHtml(note)}</dd>` : ''
    })
    .join('\n')
  // In cookie mode the cookie's own section already shows the data; here, what the keys mean.
  const decodedAbove =
    sessions.mode === 'cookie' && values.length > 0 && input.session.rejectedReason === null
  const legendHtml = legend ? `<dl class="legend">\n${legend}\n</dl>` : ''
  const holds =
    keys.length === 0
      ? '<p>Nothing: the session is empty.</p>'
      : decodedAbove
        ? `<p>The data shown above, key by key.</p>\n${legendHtml}`
        : `<p>The data as this request read it, before the page changed anything.</p>
${jsonBlock(snapshot, 'The session data')}\n${legendHtml}`
  parts.push(`<section aria-labelledby="holds"><h2 id="holds">What the session holds</h2>
${holds}
${
  input.changes.length
    ? `<p class="note">This request changes the session (it ${input.changes.join(', and ')}), so it is saved again with this response${sessions.mode === 'cookie' ? ' and your browser gets an updated cookie' : ''}: reload to see the change.</p>`
    : ''
}
</section>`)

  if (sessions.mode === 'store') parts.push(await recordSection(input))

  parts.push(`<section aria-labelledby="attributes"><h2 id="attributes">How the cookie is set</h2>
<dl class="facts">
<dt><code>HttpOnly</code></dt><dd>Page scripts cannot read it: <code>document.cookie</code> is empty on this site.</dd>
<dt><code>SameSite=Lax</code></dt><dd>The browser leaves it off form posts that come from other sites; the CSRF token covers the rest.</dd>
<dt><code>Path=/</code>, no <code>Domain</code></dt><dd>Sent to every page of this host, and to no other host.</dd>
<dt>No <code>Expires</code></dt><dd>A browser-session cookie: it ends when the browser closes (unless the app sets <code>session.permanent</code>).</dd>
<dt>No <code>Secure</code></dt><dd>This demo runs on plain <code>http://127.0.0.1</code>. On an HTTPS site, set <code>cookie: { secure: true }</code>.</dd>
</dl>
</section>`)
  return parts.join('\n')
}

function whereItLives(sessions: Sessions<DemoSession>): string {
  const name = `<code>${escapeHtml(sessions.cookieName)}</code>`
  switch (sessions.description) {
    case 'cookie/native':
      return `<p><strong>In the cookie</strong> (<code>cookie/native</code>). The whole session travels in the ${name} cookie, in tessera’s signed format: whoever holds the cookie can read it (it is base64url JSON), but nobody can change it without the secret (HMAC-SHA256). The server stores nothing.</p>`
    case 'cookie/encrypted':
      return `<p><strong>In the cookie, sealed</strong> (<code>cookie/encrypted</code>). The whole session travels in the ${name} cookie, encrypted with AES-256-GCM: your browser holds it but cannot read or change it. The server stores nothing.</p>`
    case 'cookie/flask':
      return `<p><strong>In the cookie, in Flask’s format</strong> (<code>cookie/flask</code>). The whole session travels in the ${name} cookie exactly as Flask writes it (itsdangerous, HMAC-SHA1), so a Flask app with the same <code>SECRET_KEY</code> shares the login. Whoever holds the cookie can read it; nobody can change it without the secret. The server stores nothing.</p>`
    default:
      return `<p><strong>On the server</strong>, in the <code>${escapeHtml(sessions.description)}</code> store. The ${name} cookie carries only a random 256-bit id and its signature. The store files the session under the SHA-256 of that id, so a leaked copy of the store holds no usable token.</p>`
  }
}

function cookieSection(input: InspectInput, name: string, values: readonly string[]): string {
  const { sessions, session } = input
  if (values.length === 0) {
    return `<p>None: this request carried no <code>${escapeHtml(name)}</code> cookie, so you have no session yet. A page makes one only when it writes to the session, and none does for a visitor who is not logged in: the login form keeps its CSRF token in a short-lived cookie of its own, not in a session.</p>`
  }
  if (sessions.mode === 'cookie') return cookieValuesSection(input, values, input.cookieCheck)
  if (session.rejectedReason !== null) {
    return `<p>A <code>${escapeHtml(name)}</code> cookie came, but it was refused (<code>${escapeHtml(session.rejectedReason)}</code>), so this request got a fresh, empty session. From outside, every reason looks the same.</p>`
  }
  const key = sessions.keyOf(session)
  const several =
    values.length > 1
      ? ` The request carried ${values.length} values of this cookie; the server used the one whose signature verified.`
      : ''
  return `<dl class="facts">
<dt>Name</dt><dd><code>${escapeHtml(name)}</code></dd>
<dt>Value</dt><dd><code>‹session id: 43 random characters›.‹signature: 43 characters›</code>. Not shown: the id is the key to your session.${several}</dd>
<dt>Store key</dt><dd><code class="wrap">${escapeHtml(key ?? 'none')}</code><br>The SHA-256 of the id: what the store files the session under. Safe to show, useless as a cookie.</dd>
</dl>`
}

async function recordSection(input: InspectInput): Promise<string> {
  const { sessions, session, now } = input
  if (sessions.mode !== 'store') return ''
  const key = sessions.keyOf(session)
  const head = '<section aria-labelledby="record"><h2 id="record">The store record</h2>'
  if (key === null || !sessions.store) {
    const why = input.changes.length
      ? 'None yet: this request wrote to the session, so the store creates the record as the response goes out. Reload to see it.'
      : 'None: the store holds nothing for you. An anonymous visitor costs no store call and creates no record until something is written to the session.'
    return `${head}\n<p>${why}</p>\n</section>`
  }
  const record = await sessions.store.get(key)
  if (!record) {
    return `${head}\n<p>None: the session ended while this page was being drawn.</p>\n</section>`
  }
  const rows = Object.keys(record.data)
    .sort()
    .map(
      (k) =>
        `<tr><th scope="row"><code>${escapeHtml(k)}</code></th><td><code class="wrap">${escapeHtml(record.data[k]!)}</code></td></tr>`,
    )
    .join('\n')
  return `${head}
<p>Read with <code>sessions.store.get(sessions.keyOf(session))</code>, before this request saved anything.</p>
<dl class="facts">
<dt>Key</dt><dd><code class="wrap">${escapeHtml(key)}</code></dd>
<dt>User</dt><dd>${record.userId === null ? '<span class="muted">none: not bound to a user</span>' : `<code>${escapeHtml(record.userId)}</code> (set by <code>session.setUser()</code> at login, so “Your sessions” can list it)`}</dd>
<dt>Created</dt><dd>${timeHtml(record.createdAt, now)}</dd>
<dt>Last seen</dt><dd>${timeHtml(record.lastSeenAt, now)}: refreshed at most once a minute</dd>
<dt>Expires</dt><dd>${timeHtml(record.expiresAt, now)}, unless used before: each use pushes it back</dd>
<dt>Permanent</dt><dd>${record.permanent ? 'yes: the cookie carries Expires' : 'no: the cookie ends when the browser closes'}</dd>
<dt>User agent</dt><dd>${record.userAgent ? `<code class="wrap">${escapeHtml(record.userAgent)}</code>` : '<span class="muted">none</span>'}</dd>
<dt>IP address</dt><dd>${escapeHtml(displayIp(record.ip))}: user agent and IP are recorded when the session is created</dd>
</dl>
<table class="parts"><caption>The data, as stored: one field per key, in tagged JSON</caption>
<thead><tr><th scope="col">Key</th><th scope="col">Stored value</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="2">No data.</td></tr>'}
</tbody></table>
</section>`
}
