/**
 * The bodies of the demo's pages: plain functions from data to escaped HTML.
 * @module
 */
import type { SessionSummary } from 'tessera'
import { describeDevice, displayIp } from './devices.js'
import { escapeHtml, relative, shortTimeHtml, timeHtml } from './html.js'

/** The longest username the login form accepts, in characters. */
export const maxUsername = 64
/** The longest note, in characters, and how many notes a session keeps. */
export const maxNote = 200
export const maxNotes = 30

/** What each mode means, for the footer and the pages that explain it. */
export function modeSummary(label: string): string {
  const summaries: Record<string, string> = {
    'cookie/native':
      'a signed cookie: the session travels in the cookie, readable but tamper-proof',
    'cookie/encrypted': 'an encrypted cookie: the session travels in the cookie, sealed',
    'cookie/flask': 'Flask’s signed cookie: a Flask app with the same SECRET_KEY shares it',
    memory: 'server-side, in this process’s memory (gone when it restarts)',
    file: 'server-side, one file per session',
    sqlite: 'server-side, in SQLite',
    redis: 'server-side, in Redis, shared by every instance',
    postgres: 'server-side, in PostgreSQL, shared by every instance',
  }
  return summaries[label] ?? (label.startsWith('cookie/') ? 'a cookie session' : 'server-side')
}

/** The footer: which mode and store serve the session, and which instance answered. */
export function footerHtml(label: string, instance: string | null): string {
  const served = instance ? ` · Served by <strong>${escapeHtml(instance)}</strong>` : ''
  return `Sessions: <strong class="mode">${escapeHtml(label)}</strong> — ${escapeHtml(modeSummary(label))}${served}`
}

/** The home page of a visitor who is not logged in. */
export function homeAnonymous(label: string, inspector: boolean): string {
  return `<h1>You are not logged in</h1>
<p class="lead">This is the demo site of <strong>tessera</strong>: HTTP sessions for TypeScript servers, Flask’s <code>session</code> for Node.</p>
<p><a class="button primary" href="/login">Log in</a></p>
<section aria-labelledby="try"><h2 id="try">Things to try</h2>
<ol class="steps">
<li>Log in with any name. There is no password: this site is about sessions, not accounts.</li>
<li>Open this site in a second browser or a private window and log in with the same name.</li>
<li>On <a href="/sessions">Your sessions</a>, see both browsers, and log one of them out from the other.</li>
${inspector ? '<li>Open the <a href="/inspect">session inspector</a> to see what your session holds and where it lives.</li>' : ''}
</ol>
</section>
${modeSection(label)}`
}

/** The home page of a logged-in user. */
export function homeUser(options: {
  username: string
  notes: readonly string[]
  csrfField: string
  label: string
  inspector: boolean
}): string {
  const { username, notes, csrfField, label } = options
  const list = notes.length
    ? `<ol class="notes">\n${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}\n</ol>
<form method="post" action="/notes/clear">${csrfField}<button type="submit" class="secondary">Remove all notes</button></form>`
    : '<p class="muted">No notes yet.</p>'
  return `<h1>Logged in as ${escapeHtml(username)}</h1>
<p class="lead">Your session remembers you from one request to the next. Here is what you can do with it.</p>
<div class="cards">
<section class="card" aria-labelledby="card-sessions"><h2 id="card-sessions"><a href="/sessions">Your sessions</a></h2>
<p>Every browser logged in as ${escapeHtml(username)}: where, since when, last active. Log out the ones you don’t recognise.</p></section>
${
  options.inspector
    ? `<section class="card" aria-labelledby="card-inspect"><h2 id="card-inspect"><a href="/inspect">Session inspector</a></h2>
<p>What your session holds right now, and where: ${label.startsWith('cookie/') ? 'the cookie itself, decoded' : 'the store record behind your cookie'}.</p></section>`
    : ''
}
</div>
<section aria-labelledby="notes-heading" id="notes"><h2 id="notes-heading">Notes in your session</h2>
<p>Whatever you write here is kept in your session${label.startsWith('cookie/') ? ': with cookie sessions, inside the cookie itself, which browsers cap at 4096 bytes. Add a few long notes to meet the limit.' : `, in the ${escapeHtml(label)} store: the cookie stays the same small id however much you add.`}</p>
${list}
<form method="post" action="/notes" class="stack">${csrfField}
<div class="field">
<label for="note">New note</label>
<textarea id="note" name="note" rows="2" maxlength="${maxNote}" required aria-describedby="note-hint"></textarea>
<p id="note-hint" class="hint">Up to ${maxNote} characters; at most ${maxNotes} notes.</p>
</div>
<button type="submit">Add note</button>
</form>
</section>
${modeSection(label)}`
}

/** Explains how the current mode keeps the session. */
function modeSection(label: string): string {
  const cookie = label.startsWith('cookie/')
  const how = cookie
    ? `<p>This site runs with <strong>cookie sessions</strong> (<code>${escapeHtml(label)}</code>): ${escapeHtml(modeSummary(label))}. The server keeps nothing, so it scales without a database, but it cannot list your sessions or end one on another device.</p>`
    : `<p>This site keeps sessions <strong>on the server</strong>, in <code>${escapeHtml(label)}</code>. Your cookie carries only a signed random id; the data stays on the server, so the server can list your sessions and end any of them.</p>`
  return `<section aria-labelledby="mode"><h2 id="mode">How this site keeps your session</h2>
${how}
<p>Start it with another <code>SESSION_STORE</code> (<code>cookie</code>, <code>memory</code>, <code>file:DIR</code>, <code>sqlite:PATH</code>, <code>redis://…</code>, <code>postgres://…</code>) and the same pages work the same way; the footer says which one served this page.</p>
</section>`
}

/** The login form, with an error when the last try was refused. */
export function loginPage(options: {
  csrfField: string
  error: string | null
  value: string
  next: string | null
  loggedInAs: string | null
}): string {
  const { error, next } = options
  const describedBy = error ? 'username-hint username-error' : 'username-hint'
  return `<h1>Log in</h1>
${next === '/sessions' ? '<p class="note">Log in to see your sessions.</p>' : ''}
${options.loggedInAs ? `<p class="note">You are logged in as <strong>${escapeHtml(options.loggedInAs)}</strong>. Logging in again switches to another name.</p>` : ''}
<p>There is no password: type any name. At login the session gets a new id (so an id planted before it is worthless after) and a new CSRF token.</p>
<form method="post" action="/login" class="stack">${options.csrfField}
${next ? `<input type="hidden" name="next" value="${escapeHtml(next)}">` : ''}
<div class="field">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required maxlength="${maxUsername}" value="${escapeHtml(options.value)}" aria-describedby="${describedBy}"${error ? ' aria-invalid="true" autofocus' : ''}>
<p id="username-hint" class="hint">Up to ${maxUsername} characters. Anything goes, even <code>&lt;script&gt;</code>: it is shown as text.</p>
${error ? `<p id="username-error" class="error" role="alert">${escapeHtml(error)}</p>` : ''}
</div>
<button type="submit" class="primary">Log in</button>
</form>`
}

/** "Your sessions" with a server-side store: the list, a revoke button each, and "everywhere else". */
export function sessionsPage(options: {
  username: string
  list: readonly SessionSummary[]
  currentKey: string | null
  csrfField: string
  label: string
  now: number
}): string {
  const { username, list, currentKey, csrfField, now } = options
  const rows = list
    .map((s) => {
      const device = describeDevice(s.userAgent)
      const current = s.key === currentKey
      const action = current
        ? `<form method="post" action="/logout">${csrfField}<button type="submit" class="small">Log out<span class="visually-hidden"> this browser</span></button></form>`
        : `<form method="post" action="/sessions/revoke">${csrfField}<input type="hidden" name="key" value="${escapeHtml(s.key)}"><button type="submit" class="danger small">Revoke<span class="visually-hidden"> the session of ${escapeHtml(device)}, last active ${escapeHtml(relative(s.lastSeenAt, now))}</span></button></form>`
      return `<tr${current ? ' class="current"' : ''}>
<th scope="row">${escapeHtml(device)}${current ? ' <span class="badge">This browser</span>' : ''}</th>
<td data-label="IP address">${escapeHtml(displayIp(s.ip))}</td>
<td data-label="Created (UTC)">${shortTimeHtml(s.createdAt, now)}</td>
<td data-label="Last active (UTC)">${shortTimeHtml(s.lastSeenAt, now)}</td>
<td class="action">${action}</td>
</tr>`
    })
    .join('\n')
  const others = list.filter((s) => s.key !== currentKey).length
  const everywhere =
    others > 0
      ? `<form method="post" action="/sessions/revoke-others" class="inline">${csrfField}<button type="submit" class="danger">Log out everywhere else</button></form>
<p class="hint">Ends the ${others === 1 ? 'other session' : `${others} other sessions`}; this browser stays logged in.</p>`
      : '<p class="muted">This browser is the only one logged in as you.</p>'
  return `<h1>Your sessions</h1>
<p class="lead">Every browser logged in as <strong>${escapeHtml(username)}</strong>. Revoke the ones you don’t recognise: their next request finds them logged out.</p>
<div class="table-wrap">
<table class="sessions">
<caption>${list.length === 1 ? '1 live session' : `${list.length} live sessions`}, newest first</caption>
<thead><tr><th scope="col">Browser and system</th><th scope="col">IP address</th><th scope="col">Created (UTC)</th><th scope="col">Last active (UTC)</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
${everywhere}
<section aria-labelledby="how"><h2 id="how">How this works</h2>
<p>Each session is a record in the <code>${escapeHtml(options.label)}</code> store, filed under the SHA-256 of its id. At login the app calls <code>session.setUser(username)</code>, and the store keeps an index per user, so this list is one lookup: <code>sessions.listByUser(username)</code>.</p>
<p>Revoking deletes the record (<code>sessions.destroy(key)</code>). The other browser still holds its cookie, but the id in it now points at nothing: on its next request it is logged out, and its cookie is deleted. “Last active” is refreshed at most once a minute, to spare the store a write per request.</p>
</section>`
}

/** "Your sessions" with cookie sessions: why there is no list, and what this browser holds. */
export function sessionsCookiePage(options: {
  username: string
  label: string
  userAgent: string | null
  ip: string | null
  issuedAt: number
  now: number
  /** Revocable cookie sessions: the form that logs out every other browser. */
  revocable: { csrfField: string } | null
}): string {
  const { label, now, revocable } = options
  const intro = revocable
    ? `<div class="notice" role="note" aria-labelledby="cookie-mode">
<h2 id="cookie-mode">Revocable cookie sessions: no list, but “log out everywhere” works</h2>
<p>This site runs with revocable cookie sessions (<code>${escapeHtml(label)}</code>): your whole session travels in a signed cookie, and the server keeps one number per user, a generation, that every cookie of yours carries. It cannot list your other browsers, since it keeps no record of them, but it can end them all: the button bumps your generation, and every cookie that carries the old one is refused at its next request. This browser’s cookie is re-issued with the new one.</p>
<form method="post" action="/sessions/revoke-others" class="inline">${revocable.csrfField}<button type="submit" class="danger">Log out everywhere else</button></form>
</div>`
    : `<div class="notice" role="note" aria-labelledby="cookie-mode">
<h2 id="cookie-mode">Cookie sessions cannot list or revoke your other devices</h2>
<p>This site runs with cookie sessions (<code>${escapeHtml(label)}</code>): your whole session travels in a signed cookie that only your browser holds. The server keeps no record of who is logged in, or where. So:</p>
<ul>
<li><strong>There is no list to show.</strong> Each browser carries its own session; the server sees one only when that browser makes a request.</li>
<li><strong>There is nothing to revoke.</strong> Logging out deletes this browser’s cookie, but a copy of it taken earlier stays valid until it expires (by default 31 days after it was last written), because the server has no record to delete.</li>
</ul>
<p>To list sessions and end them from anywhere, keep them on the server: start the demo with <code>SESSION_STORE=sqlite:.data/sessions.db</code> (the default), <code>redis://…</code> or <code>postgres://…</code>. To end them all at once and keep them in the cookie, add <code>SESSION_REVOCATION=sqlite:.data/generations.db</code>.</p>
</div>`
  return `<h1>Your sessions</h1>
${intro}
<section aria-labelledby="this"><h2 id="this">This browser</h2>
<dl class="facts">
<dt>Logged in as</dt><dd><strong>${escapeHtml(options.username)}</strong></dd>
<dt>Browser and system</dt><dd>${escapeHtml(describeDevice(options.userAgent))}</dd>
<dt>IP address</dt><dd>${escapeHtml(displayIp(options.ip))}</dd>
<dt>Cookie last written</dt><dd>${timeHtml(options.issuedAt, now)}</dd>
</dl>
</section>`
}

/** A refused form: the CSRF token was missing or wrong. */
export function csrfFailedPage(): string {
  return `<h1>This form was not accepted</h1>
<p class="lead">Its security token was missing, or did not match this browser.</p>
<p>Every form on this site carries a token tied to your session, or on the login form to a short-lived cookie of its own (CSRF protection), so that another site cannot submit forms in your name. A form is refused when it came from somewhere else, when your session ended or changed since the page was loaded (after you logged in or out in another tab, say), or when a login form was left open for over an hour.</p>
<p>Go back, reload the page, and try again. If it keeps happening, make sure your browser accepts cookies from this site.</p>
<p><a class="button" href="/">Back to the home page</a></p>`
}

/** The session would not fit in a cookie any more. */
export function tooLargePage(size: number, limit: number): string {
  return `<h1>Your session no longer fits in a cookie</h1>
<p class="lead">Saving this change would make the session cookie ${size} bytes long; browsers keep at most ${limit}. Nothing was saved.</p>
<p>Cookie sessions suit small data: a user id, a few flags. tessera refuses a cookie the browser would silently drop, rather than lose your session. Remove some notes, or start the demo with a server-side store (<code>SESSION_STORE=sqlite:.data/sessions.db</code>, the default), where only an id travels in the cookie.</p>
<p><a class="button" href="/#notes">Back to your notes</a></p>`
}

export function notFoundPage(): string {
  return `<h1>Page not found</h1>
<p>There is nothing at this address. <a href="/">Go to the home page</a>.</p>`
}

export function methodNotAllowedPage(allowed: string): string {
  return `<h1>Not allowed</h1>
<p>This address answers ${escapeHtml(allowed)} only. <a href="/">Go to the home page</a>.</p>`
}

export function serverErrorPage(): string {
  return `<h1>Something went wrong</h1>
<p>The server failed to answer this request; it has been logged. <a href="/">Go to the home page</a>.</p>`
}

/** Asks to confirm a logout reached by a link (logout itself is a POST, with a CSRF token). */
export function logoutConfirmPage(csrfField: string, username: string | null): string {
  if (!username) {
    return `<h1>Log out</h1>
<p>You are not logged in. <a href="/">Go to the home page</a>.</p>`
  }
  return `<h1>Log out</h1>
<p>Log out <strong>${escapeHtml(username)}</strong> from this browser?</p>
<form method="post" action="/logout">${csrfField}<button type="submit" class="primary">Log out</button></form>`
}
