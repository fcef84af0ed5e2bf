/**
 * One simulated browser of the soak: a cookie jar (the demo's `DemoClient`), who it is logged in
 * as, and the notes the server acknowledged. It sends one request at a time, as a person
 * clicking through the site does, and follows each redirect, so every page it gets back can be
 * checked exactly against what it knows: its user, every note it saved, no one else's.
 * @module
 */
import { csrfTokenIn, DemoClient } from '../../demo/test-client.js'
import { maxNotes } from '../../demo/views.js'

/** What a browser does on its turn. */
export type Action = 'login' | 'read' | 'write' | 'logout'

/** What all the browsers of one run saw. */
export interface Tally {
  requests: number
  /** Milliseconds per request, response body included. */
  latencies: number[]
  serverErrors: number
  actions: Record<Action, number>
  acknowledgedWrites: number
  /** Acknowledged notes that a later page of the same session did not show. */
  lostWrites: number
  /** Every outcome the site should never give: a 5xx, a wrong page, a network error. */
  anomalies: number
  /** The first anomalies and lost writes, described. */
  examples: string[]
  /** 503s with Retry-After, when the run injects a fault and so expects them. */
  unavailable: number
  /** When the last of them came (performance.now()), or null. */
  lastUnavailableAt: number | null
  /** Browsers whose session vanished while they were logged in (after a fault). */
  silentLogouts: number
}

export function newTally(): Tally {
  return {
    requests: 0,
    latencies: [],
    serverErrors: 0,
    actions: { login: 0, read: 0, write: 0, logout: 0 },
    acknowledgedWrites: 0,
    lostWrites: 0,
    anomalies: 0,
    examples: [],
    unavailable: 0,
    lastUnavailableAt: null,
    silentLogouts: 0,
  }
}

/** An answer the site should not have given. */
export class Unexpected extends Error {
  override name = 'Unexpected'
}

/** A 503 with Retry-After while a fault is injected: the answer the site owes, not an anomaly. */
export class Unavailable extends Error {
  override name = 'Unavailable'
}

/** Records an anomaly (an `Unexpected`, or anything a request threw). */
export function noteAnomaly(tally: Tally, error: unknown): void {
  tally.anomalies++
  example(tally, error instanceof Error ? error.message : String(error))
}

interface Page {
  status: number
  location: string | null
  html: string
  retryAfter: string | null
}

export class Browser {
  /** The user the site should show, or null when logged out. */
  username: string | null = null
  /** The notes the site acknowledged for this session, in order. */
  notes: string[] = []
  #csrf: string | null = null
  readonly #client: DemoClient

  constructor(
    readonly name: string,
    origin: string,
    readonly tally: Tally,
    /** Take a 503 with Retry-After as the store's outage (an `Unavailable`), not a failure. */
    readonly expectOutage = false,
  ) {
    this.#client = new DemoClient(origin)
  }

  /** The session cookie's value, or '' when the browser holds none. */
  get cookieValue(): string {
    return this.#client.cookie.slice(this.#client.cookie.indexOf('=') + 1)
  }

  /** Logs in through the form; the home page after it must show the user and no notes. */
  async login(username: string): Promise<void> {
    const before = this.cookieValue
    const form = await this.#request('GET', '/login')
    this.#expect(form, 200, 'GET /login')
    const token = csrfTokenIn(form.html)
    if (!token) throw new Unexpected(`${this.name}: no CSRF token on the login form`)
    const posted = await this.#request('POST', '/login', { _csrf: token, username })
    this.#expect(posted, 303, 'POST /login', '/')
    if (!this.cookieValue || this.cookieValue === before) {
      throw new Unexpected(`${this.name}: the login did not give a new session cookie`)
    }
    this.username = username
    // A login starts a clean session: the notes of whoever used this browser before are gone.
    this.notes = []
    await this.#home('the page after login', 'You are logged in.')
  }

  /**
   * Opens the login form and goes no further, as people often do. The form's CSRF token rides
   * in a cookie of its own, so the look must leave no session behind (L-02): no session cookie,
   * and so, by the check at the end, no store record.
   */
  async viewLoginForm(): Promise<void> {
    const before = this.cookieValue
    const form = await this.#request('GET', '/login')
    this.#expect(form, 200, 'GET /login')
    if (!csrfTokenIn(form.html)) {
      throw new Unexpected(`${this.name}: the login form came without a CSRF token`)
    }
    if (this.cookieValue && this.cookieValue !== before) {
      throw new Unexpected(`${this.name}: a look at the login form made a session`)
    }
  }

  /** Reads the home page, or now and then "Your sessions", which goes through the user index. */
  async read(sessionsPage: boolean): Promise<void> {
    if (!sessionsPage) return this.#home('GET /')
    const page = await this.#request('GET', '/sessions')
    this.#expect(page, 200, 'GET /sessions')
    if (!page.html.includes('<span class="badge">This browser</span>')) {
      throw new Unexpected(`${this.name}: "Your sessions" of ${this.username} lacks this browser`)
    }
    this.#csrf = csrfTokenIn(page.html)
  }

  /** Adds `note` (or, when the session holds the most notes it may, removes them all). */
  async write(note: string): Promise<void> {
    if (this.notes.length >= maxNotes) {
      const cleared = await this.#request('POST', '/notes/clear', { _csrf: this.#token() })
      this.#expect(cleared, 303, 'POST /notes/clear', '/#notes')
      this.notes = []
      return this.#home('the page after removing the notes', 'Notes removed.')
    }
    const posted = await this.#request('POST', '/notes', { _csrf: this.#token(), note })
    this.#expect(posted, 303, 'POST /notes', '/#notes')
    this.notes.push(note)
    this.tally.acknowledgedWrites++
    await this.#home('the page after adding a note', 'Note saved in your session.')
  }

  /** Logs out; the page after it shows the message once and ends what was left of the session. */
  async logout(): Promise<void> {
    const posted = await this.#request('POST', '/logout', { _csrf: this.#token() })
    this.#expect(posted, 303, 'POST /logout', '/')
    this.username = null
    this.notes = []
    await this.#home('the page after logout', 'You have been logged out.')
    if (this.cookieValue) {
      throw new Unexpected(`${this.name}: still holds a session cookie after the logout page`)
    }
  }

  /** How many sessions "Your sessions" lists for this browser's user. */
  async listedSessions(): Promise<number> {
    const page = await this.#request('GET', '/sessions')
    this.#expect(page, 200, 'GET /sessions')
    const count = /<caption>(\d+) live sessions?,/.exec(page.html)?.[1]
    if (count === undefined) throw new Unexpected(`${this.name}: "Your sessions" has no count`)
    return Number(count)
  }

  /** After an anomaly: takes what the home page shows as the truth, so later checks hold. */
  async resync(): Promise<void> {
    const page = await this.#request('GET', '/')
    this.username = loggedInAs(page.html)
    this.notes = this.username === null ? [] : notesIn(page.html)
    this.#csrf = csrfTokenIn(page.html)
  }

  /**
   * After an `Unavailable`: reads the home page until it comes, and takes it as the truth, but
   * first counts what the outage cost. What the interrupted `action` may or may not have done is
   * excused (a note it tried to add, notes it tried to clear, a logout, a login); anything else
   * missing is lost: acknowledged notes (`lostWrites`) or the whole session (`silentLogouts`).
   */
  async recover(action: Action, attempted: string | null): Promise<void> {
    let page: Page
    for (;;) {
      try {
        page = await this.#request('GET', '/')
        break
      } catch (error) {
        if (!(error instanceof Unavailable)) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    this.#expect(page, 200, 'GET / after the outage')
    const shown = loggedInAs(page.html)
    const excused = action === 'login' || (action === 'logout' && shown === null)
    if (shown !== this.username && !excused) {
      if (shown === null) {
        this.tally.silentLogouts++
        example(this.tally, `${this.name}: logged out by the outage (was ${this.username})`)
      } else {
        throw new Unexpected(`${this.name}: after the outage shows ${shown}, not ${this.username}`)
      }
    } else if (shown !== null && shown === this.username) {
      const notes = notesIn(page.html)
      const lost =
        action === 'write' && notes.length === 0 ? [] : this.notes.filter((n) => !notes.includes(n))
      const foreign = notes.filter((n) => !this.notes.includes(n) && n !== attempted)
      if (lost.length > 0) {
        this.tally.lostWrites += lost.length
        example(
          this.tally,
          `${this.name}: after the outage lacks the acknowledged notes ${lost.join(', ')}`,
        )
      }
      if (foreign.length > 0) {
        throw new Unexpected(
          `${this.name}: after the outage shows notes it never wrote: ${foreign.join(', ')}`,
        )
      }
    }
    this.username = shown
    this.notes = shown === null ? [] : notesIn(page.html)
    this.#csrf = csrfTokenIn(page.html)
  }

  /** GETs the home page and checks it shows this browser's user and exactly its notes. */
  async #home(what: string, flash?: string): Promise<void> {
    const page = await this.#request('GET', '/')
    this.#expect(page, 200, what)
    const shown = loggedInAs(page.html)
    if (shown !== this.username) {
      throw new Unexpected(
        `${this.name}: ${what} shows ${shown === null ? 'nobody' : shown} logged in, not ${this.username ?? 'nobody'}`,
      )
    }
    if (flash && !page.html.includes(flash)) {
      throw new Unexpected(`${this.name}: ${what} lacks the message "${flash}"`)
    }
    this.#csrf = csrfTokenIn(page.html)
    if (this.username === null) return
    const notes = notesIn(page.html)
    const lost = this.notes.filter((n) => !notes.includes(n))
    const foreign = notes.filter((n) => !this.notes.includes(n))
    // From here on the page is the truth, so a lost note is counted once.
    this.notes = notes
    if (lost.length > 0) {
      this.tally.lostWrites += lost.length
      example(this.tally, `${this.name}: ${what} lacks the acknowledged notes ${lost.join(', ')}`)
    }
    if (foreign.length > 0) {
      throw new Unexpected(
        `${this.name}: ${what} shows notes it never wrote: ${foreign.join(', ')}`,
      )
    }
  }

  #token(): string {
    if (!this.#csrf) throw new Unexpected(`${this.name}: the last page had no CSRF token`)
    return this.#csrf
  }

  #expect(page: Page, status: number, what: string, location?: string): void {
    if (page.status !== status || (location !== undefined && page.location !== location)) {
      const got = page.location === null ? `${page.status}` : `${page.status} → ${page.location}`
      const wanted = location === undefined ? `${status}` : `${status} → ${location}`
      throw new Unexpected(`${this.name}: ${what} answered ${got}, not ${wanted}`)
    }
  }

  async #request(method: 'GET' | 'POST', path: string, form?: Record<string, string>) {
    const init: RequestInit = form ? { method, body: new URLSearchParams(form) } : { method }
    const started = performance.now()
    let page: Page
    try {
      const res = await this.#client.fetch(path, init)
      page = {
        status: res.status,
        location: res.headers.get('location'),
        html: await res.text(),
        retryAfter: res.headers.get('retry-after'),
      }
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
      throw new Unexpected(`${this.name}: ${method} ${path} failed: ${String(cause)}`)
    }
    this.tally.requests++
    this.tally.latencies.push(performance.now() - started)
    if (page.status === 503 && this.expectOutage && page.retryAfter) {
      this.tally.unavailable++
      this.tally.lastUnavailableAt = performance.now()
      throw new Unavailable(`${this.name}: ${method} ${path} answered 503`)
    }
    if (page.status >= 500) {
      this.tally.serverErrors++
      throw new Unexpected(`${this.name}: ${method} ${path} answered ${page.status}`)
    }
    return page
  }
}

/** The user the page says is logged in, or null. */
function loggedInAs(html: string): string | null {
  return /<span class="who">Logged in as <strong>([^<]*)<\/strong><\/span>/.exec(html)?.[1] ?? null
}

/** The notes on the home page, in order (the soak's notes need no HTML escaping). */
function notesIn(html: string): string[] {
  const list = /<ol class="notes">\n([\s\S]*?)\n<\/ol>/.exec(html)?.[1]
  if (list === undefined) return []
  return [...list.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!)
}

function example(tally: Tally, text: string): void {
  if (tally.examples.length < 10) tally.examples.push(text)
}
