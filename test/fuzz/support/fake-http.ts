/**
 * The smallest `IncomingMessage`/`ServerResponse` pair the node:http adapter works with, so the
 * whole request path can be fuzzed in process, thousands of requests a second.
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'

/** What a fake request ended with. */
export interface FakeResult {
  status: number
  headers: Record<string, string | string[]>
  body: string
  /** The response was destroyed rather than ended (headers already sent when it failed). */
  destroyed: boolean
}

/** A fake request carrying `cookie`, for `url`. */
export function fakeRequest(
  url: string,
  cookie: string | undefined,
  method = 'GET',
): IncomingMessage {
  const headers: Record<string, string> = { 'user-agent': 'fuzz' }
  if (cookie !== undefined) headers.cookie = cookie
  return {
    url,
    method,
    headers,
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage
}

/** A fake response; `done` settles when it is ended or destroyed. */
export class FakeResponse {
  statusCode = 200
  statusMessage = ''
  headersSent = false
  destroyed = false
  body = ''
  readonly #headers = new Map<string, string | string[]>()
  readonly done: Promise<FakeResult>
  #finish!: (result: FakeResult) => void

  constructor() {
    this.done = new Promise((resolve) => {
      this.#finish = resolve
    })
  }

  get asServerResponse(): ServerResponse {
    return this as unknown as ServerResponse
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (this.headersSent)
      throw new Error('ERR_HTTP_HEADERS_SENT: cannot set headers after they are sent')
    this.#headers.set(name.toLowerCase(), Array.isArray(value) ? [...value] : String(value))
    return this
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers.get(name.toLowerCase())
  }

  getHeaderNames(): string[] {
    return [...this.#headers.keys()]
  }

  hasHeader(name: string): boolean {
    return this.#headers.has(name.toLowerCase())
  }

  removeHeader(name: string): void {
    if (this.headersSent)
      throw new Error('ERR_HTTP_HEADERS_SENT: cannot remove headers after they are sent')
    this.#headers.delete(name.toLowerCase())
  }

  writeHead(
    status: number,
    second?: string | OutgoingHttpHeaders,
    third?: OutgoingHttpHeaders,
  ): this {
    if (this.headersSent) throw new Error('ERR_HTTP_HEADERS_SENT: writeHead called twice')
    this.statusCode = status
    const headers = typeof second === 'string' ? third : second
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (value !== undefined) this.setHeader(name, value as string)
    }
    this.headersSent = true
    return this
  }

  write(chunk: string | Uint8Array): boolean {
    this.headersSent = true
    this.body += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    return true
  }

  end(chunk?: string | Uint8Array | (() => void)): this {
    if (chunk !== undefined && typeof chunk !== 'function') this.write(chunk)
    this.headersSent = true
    this.#finish(this.#result())
    return this
  }

  destroy(): this {
    this.destroyed = true
    this.#finish(this.#result())
    return this
  }

  #result(): FakeResult {
    return {
      status: this.statusCode,
      headers: Object.fromEntries(this.#headers),
      body: this.body,
      destroyed: this.destroyed,
    }
  }
}

/** The Set-Cookie values of a result, as a list. */
export function setCookies(result: FakeResult): string[] {
  const value = result.headers['set-cookie']
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}
