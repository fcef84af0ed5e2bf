/**
 * Errors raised by tessera. Every error has a stable `code`, because `instanceof` fails when an
 * app ends up with both the ESM and the CJS copy of the library.
 * @module
 */

const brand = Symbol.for('tessera.error')

/** The base of every error tessera throws. */
export class SessionError extends Error {
  readonly code: string
  readonly [brand] = true

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A mistake in the options given to a factory: thrown at start-up, never on a request. */
export class ConfigError extends SessionError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG', message, options)
  }
}

/** A cookie that would be larger than browsers keep (4096 bytes for name and value). */
export class CookieTooLargeError extends SessionError {
  readonly size: number
  readonly limit: number

  /** `over` says which limit, when it is not the one of a single cookie. */
  constructor(name: string, size: number, limit: number, over?: string) {
    super(
      'COOKIE_TOO_LARGE',
      `the "${name}" ${over ? 'session' : 'cookie'} would be ${size} bytes, ` +
        `${over ?? `over the ${limit}-byte limit browsers keep`}; ` +
        'store less in the session, or use a server-side store so only an id travels in the cookie',
    )
    this.size = size
    this.limit = limit
  }
}

/**
 * The session store failed or timed out. Adapters turn it into a 503 with `Retry-After`;
 * the session is never silently replaced by an empty one, which would log everybody out.
 */
export class StoreError extends SessionError {
  readonly store: string
  /** The HTTP status an app should answer with. */
  readonly status = 503
  /**
   * The headers that answer should carry. Frameworks that answer an error by its `status`
   * and `headers` (Express's final handler, Fastify's and Koa's default handling) send them as
   * they are, wherever the error was thrown.
   */
  readonly headers: Readonly<Record<string, string>> = {
    'retry-after': String(storeRetryAfter),
    'cache-control': 'no-store',
  }

  constructor(store: string, operation: string, options?: ErrorOptions) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super('STORE_UNAVAILABLE', `session store "${store}" failed to ${operation}${why}`, options)
    this.store = store
  }
}

/**
 * A request that carries its session both in the cookie and in the token header: which one the
 * client meant cannot be known, so the request is refused (400) and nothing is changed.
 */
export class SessionConflictError extends SessionError {
  /** The HTTP status an app should answer with. */
  readonly status = 400
  /** Koa and http-errors show the message of an error that says it may be shown. */
  readonly expose = true
  readonly headers: Readonly<Record<string, string>> = { 'cache-control': 'no-store' }

  constructor(cookie: string, header: string) {
    super(
      'COOKIE_AND_TOKEN',
      `the request carries the session both in the "${cookie}" cookie and in the "${header}" ` +
        'header; send one: a browser its cookie, an API client its token',
    )
  }
}

/** Seconds a client is asked to wait after a store outage (`Retry-After`). */
export const storeRetryAfter = 5

/** A value that cannot be kept in a session (a function, a symbol, a class without a tag). */
export class SerializeError extends SessionError {
  constructor(message: string, options?: ErrorOptions) {
    super('SERIALIZE', message, options)
  }
}

/** Session data read before it was loaded from its store. */
export class SessionNotLoadedError extends SessionError {
  constructor() {
    super(
      'NOT_LOADED',
      'this session is not loaded yet (it lives in a store, or its cookie is read with Web ' +
        'Crypto, which is asynchronous); call `await session.load()` first (adapters do it for ' +
        'you unless you set `lazy: true`)',
    )
  }
}

/** Whether `error` is a tessera error (with the given code), across ESM/CJS copies. */
export function isSessionError(error: unknown, code?: string): error is SessionError {
  if (typeof error !== 'object' || error === null || !(brand in error)) return false
  return code === undefined || (error as SessionError).code === code
}
