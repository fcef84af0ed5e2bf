/**
 * A tiny browser stand-in for the demo's HTTP tests: it keeps the session cookie (and any other
 * cookie the site sets, such as the login form's) between requests, reads the CSRF token from
 * forms and posts them back, as a browser would.
 * @module
 */
import { parseSetCookie } from 'cookie'

/** Something that answers `fetch(path)`: a test server, or a base URL. */
export type Origin = { fetch(path: string, init?: RequestInit): Promise<Response> } | string

/** A client with a cookie jar: the session cookie, and the site's other cookies. */
export class DemoClient {
  /** `session=<value>`, or '' when the client holds no session cookie. */
  cookie = ''
  /** The site's other cookies (the login form's), by name: sent along, never in `cookie`. */
  readonly others = new Map<string, string>()
  readonly #cookieName: string

  constructor(
    readonly origin: Origin,
    readonly options: { userAgent?: string; cookieName?: string } = {},
  ) {
    this.#cookieName = options.cookieName ?? 'session'
  }

  /** Sends a request with the cookie; keeps any session cookie the response sets or deletes. */
  async fetch(
    path: string,
    init: RequestInit = {},
    origin: Origin = this.origin,
  ): Promise<Response> {
    const headers = new Headers(init.headers)
    const jar = [
      ...(this.cookie ? [this.cookie] : []),
      ...[...this.others].map(([name, value]) => `${name}=${value}`),
    ]
    if (jar.length > 0) headers.set('cookie', jar.join('; '))
    if (this.options.userAgent) headers.set('user-agent', this.options.userAgent)
    const request = { ...init, headers, redirect: 'manual' as const }
    const res =
      typeof origin === 'string'
        ? await fetch(`${origin}${path}`, request)
        : await origin.fetch(path, request)
    for (const header of res.headers.getSetCookie()) {
      const cookie = parseSetCookie(header)
      const value = cookie.value ?? ''
      const gone =
        !value ||
        cookie.maxAge === 0 ||
        (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now())
      if (cookie.name === this.#cookieName) this.cookie = gone ? '' : `${cookie.name}=${value}`
      else if (gone) this.others.delete(cookie.name)
      else this.others.set(cookie.name, value)
    }
    return res
  }

  /** GETs a page: its response and HTML. */
  async get(path: string, origin?: Origin): Promise<{ res: Response; html: string }> {
    const res = await this.fetch(path, {}, origin)
    return { res, html: await res.text() }
  }

  /** The CSRF token in the forms of the page at `path`. */
  async csrf(path: string, origin?: Origin): Promise<string> {
    const { html } = await this.get(path, origin)
    const token = csrfTokenIn(html)
    if (!token) throw new Error(`no CSRF token on ${path}`)
    return token
  }

  /** POSTs a form. */
  post(path: string, fields: Record<string, string>, origin?: Origin): Promise<Response> {
    return this.fetch(path, { method: 'POST', body: new URLSearchParams(fields) }, origin)
  }

  /** Logs in through the login form, as a browser would. */
  async login(username: string, origin?: Origin): Promise<Response> {
    const token = await this.csrf('/login', origin)
    return this.post('/login', { _csrf: token, username }, origin)
  }

  /** Logs out with the header's logout form. */
  async logout(origin?: Origin): Promise<Response> {
    const token = await this.csrf('/', origin)
    return this.post('/logout', { _csrf: token }, origin)
  }
}

/** The value of the first `_csrf` hidden field in `html`, or null. */
export function csrfTokenIn(html: string): string | null {
  return /<input type="hidden" name="_csrf" value="([^"]+)">/.exec(html)?.[1] ?? null
}
