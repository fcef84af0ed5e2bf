/**
 * HTML for the demo: the page layout and small helpers. Every value from a user, a cookie or a
 * store goes through `escapeHtml`; the pages carry no script at all (the CSP forbids it).
 * @module
 */

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** `text` safe to put in HTML content and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!)
}

/** The pages the navigation links to. */
export type Section = 'home' | 'login' | 'sessions' | 'inspect' | null

/** Who the header shows: a logged-in user (with the logout form's CSRF field), or nobody. */
export type Account =
  | { username: string; csrfField: string }
  | { username: null }
  /** No account area at all: error pages that must not touch the session. */
  | null

/** Everything a page needs besides its body. */
export interface Layout {
  title: string
  /** The page's content: already escaped HTML. */
  body: string
  section: Section
  account: Account
  /** `[category, message]` pairs flashed by an earlier request. */
  flashes: readonly (readonly [string, string])[]
  /** Whether the inspector is on (its link is shown). */
  inspector: boolean
  /** The footer's content: already escaped HTML. */
  footer: string
}

/** A whole page. */
export function page(layout: Layout): string {
  const link = (href: string, section: Section, text: string) =>
    `<li><a href="${href}"${layout.section === section ? ' aria-current="page"' : ''}>${text}</a></li>`
  const links = [
    link('/', 'home', 'Home'),
    link('/sessions', 'sessions', 'Your sessions'),
    layout.inspector ? link('/inspect', 'inspect', 'Inspector') : '',
  ].join('')
  let account = ''
  if (layout.account?.username) {
    account = `<div class="account">
<span class="who">Logged in as <strong>${escapeHtml(layout.account.username)}</strong></span>
<form method="post" action="/logout">${layout.account.csrfField}<button type="submit" class="link">Log out</button></form>
</div>`
  } else if (layout.account) {
    account = `<div class="account"><a class="button" href="/login"${layout.section === 'login' ? ' aria-current="page"' : ''}>Log in</a></div>`
  }
  const flashes = layout.flashes.length
    ? `<div class="flashes" role="status">
${layout.flashes.map(([category, message]) => `<p class="flash flash-${flashClass(category)}">${escapeHtml(message)}</p>`).join('\n')}
</div>\n`
    : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(layout.title)} · tessera demo</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header class="site">
<div class="bar">
<a class="brand" href="/"><span class="logo" aria-hidden="true"></span>tessera <span class="muted">demo</span></a>
<nav aria-label="Main"><ul>${links}</ul></nav>
${account}
</div>
</header>
<main id="content">
${flashes}${layout.body}
</main>
<footer class="site">
<p>${layout.footer}</p>
</footer>
</body>
</html>
`
}

function flashClass(category: string): string {
  if (category === 'logged-out') return 'success'
  return ['success', 'error', 'info'].includes(category) ? category : 'info'
}

const dateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
})

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })

const shortDateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
})

/** An instant in a table cell: "28 Nov, 04:01" over "3 minutes ago" (the column says UTC). */
export function shortTimeHtml(ms: number, now: number = Date.now()): string {
  if (!isDate(ms)) return '<span class="muted">unknown</span>'
  const date = new Date(ms)
  return `<time datetime="${date.toISOString()}">${shortDateFormat.format(date)}</time><br><span class="muted">${relative(ms, now)}</span>`
}

/** An instant (epoch ms) as a `<time>` element in UTC, with how long ago (or until) it is. */
export function timeHtml(ms: number, now: number = Date.now()): string {
  if (!isDate(ms)) return '<span class="muted">unknown</span>'
  const date = new Date(ms)
  return `<time datetime="${date.toISOString()}">${dateFormat.format(date)} UTC</time> <span class="muted">(${relative(ms, now)})</span>`
}

/**
 * Whether `ms` is an instant a `Date` can hold (±8.64e15 ms): past that, `toISOString` throws,
 * and a record or cookie from elsewhere may carry any number.
 */
function isDate(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0 && ms <= 8.64e15
}

/** "just now", "3 minutes ago", "in 31 days". */
export function relative(ms: number, now: number = Date.now()): string {
  const seconds = Math.round((ms - now) / 1000)
  if (Math.abs(seconds) < 10) return 'just now'
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ]
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.trunc(seconds / size), unit)
  }
  return relativeFormat.format(seconds, 'second')
}

/** `text` as JSON, pretty-printed when it parses, in a `<pre><code>` block. */
export function jsonBlock(value: unknown, label: string): string {
  return `<pre class="code" tabindex="0" aria-label="${escapeHtml(label)}"><code>${escapeHtml(jsonText(value))}</code></pre>`
}

/** `value` as indented JSON; a value JSON cannot spell (a BigInt, a cycle) is named, not thrown. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? 'undefined'
  } catch (error) {
    return `(not shown: ${error instanceof Error ? error.message : String(error)})`
  }
}
