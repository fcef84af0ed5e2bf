/**
 * What every adapter does the same way: open a request's session, load it when it lives in a
 * store, and turn a commit into response headers.
 * @module
 */

import type { CommitResult, RequestMeta } from '../engines/types.js'
import { ConfigError, isSessionError, storeRetryAfter } from '../errors.js'
import { csrfField } from '../features/csrf.js'
import { nodeNet } from '../primitives/runtime.js'
import { deferLoadError, needsLoad, onSave } from '../session/handle.js'
import type { Session, SessionShape } from '../session/session.js'
import type { Sessions } from '../session/sessions.js'
import type { RequestHeaders } from '../transports/types.js'

/**
 * The session shape an app declared app-wide by augmenting an adapter's `AppSession`
 * interface, or `SessionShape` (any key) while it declares nothing.
 */
export type DeclaredShape<A extends object> = [keyof A] extends [never] ? SessionShape : A

/** `A`, once the app declares a key in it; else `T`, the shape of the sessions given. */
export type BoundShape<A extends object, T extends object> = [keyof A] extends [never] ? T : A

/**
 * The sessions an adapter accepts: once the app declares `AppSession`, only sessions of that
 * shape (`createSessions<AppSession>(…)`), so the shape the handlers see is the one the
 * sessions were made with; while it declares nothing, sessions of any shape `T`.
 */
export type DeclaredSessions<A extends object, T extends object> = Sessions<BoundShape<A, T>>

/** Options every adapter takes. */
export interface AdapterOptions {
  /**
   * Don't read a server-side session before the handler runs; the handler calls
   * `await session.load()` when it needs it, so requests that never do cost no store call.
   * @default false
   */
  lazy?: boolean
}

/**
 * Which hops of `X-Forwarded-For` to believe, as Express's `trust proxy` means it: a number
 * trusts that many hops from the server, a list trusts those addresses and CIDR ranges (and
 * `loopback`, `linklocal`, `uniquelocal`), a function is asked for each address with its hop
 * (0 is the socket's peer). `true` trusts one hop, as tessera's boolean always did: unlike
 * Express's `true`, which trusts every hop.
 */
export type TrustProxy = boolean | number | string[] | ((address: string, hop: number) => boolean)

/** Options of the adapters whose framework has no proxy setting of its own. */
export interface ProxyOptions {
  /**
   * The proxies in front of the app, whose `X-Forwarded-For` gives the client IP recorded
   * with a session. @default false
   */
  trustProxy?: TrustProxy
}

/** A compiled `TrustProxy`: whether `address`, `hop` hops from the server, is a trusted proxy. */
export type Trust = (address: string, hop: number) => boolean

const namedRanges: Record<string, string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/** `trustProxy` as a function, or null when no proxy is trusted. Throws on a bad list entry. */
export function compileTrust(option: TrustProxy | undefined): Trust | null {
  if (option === undefined || option === false || option === 0) return null
  if (option === true) return (_address, hop) => hop < 1
  if (typeof option === 'number') {
    if (!Number.isInteger(option) || option < 0) {
      throw new ConfigError(`\`trustProxy\` is ${option}; give a whole number of proxy hops`)
    }
    return (_address, hop) => hop < option
  }
  if (typeof option === 'function') return option
  if (!nodeNet) {
    throw new ConfigError(
      '`trustProxy` as a list of addresses needs node:net, which this runtime lacks; ' +
        'give the number of proxy hops or a function instead',
    )
  }
  const { BlockList, isIP } = nodeNet
  const list = new BlockList()
  for (const entry of option.flatMap((e) => namedRanges[e] ?? [e])) {
    const [address = '', bits] = entry.split('/')
    const family = isIP(address)
    const prefix = bits === undefined ? undefined : Number(bits)
    const max = family === 4 ? 32 : 128
    if (
      family === 0 ||
      (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= max))
    ) {
      throw new ConfigError(
        `\`trustProxy\` lists "${entry}", which is not an IP address or CIDR range; ` +
          'write it as 10.0.0.1, 10.0.0.0/8 or fc00::/7',
      )
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, prefix, type)
  }
  return (address) => {
    // A dual-stack server sees IPv4 peers as IPv4-mapped IPv6 addresses.
    const plain =
      address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
    const family = isIP(plain)
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6')
  }
}

const compiled = new WeakMap<ProxyOptions, Trust | null>()

/** `compileTrust` of an options object, once per object. */
export function trustOf(options: ProxyOptions): Trust | null {
  let trust = compiled.get(options)
  if (trust === undefined) {
    trust = compileTrust(options.trustProxy)
    compiled.set(options, trust)
  }
  return trust
}

/**
 * Refuses tessera's `trustProxy` on an adapter whose framework has a proxy setting: two settings
 * could disagree about who the client is.
 */
export function refuseOwnTrust(options: object, instead: string): void {
  if ((options as ProxyOptions).trustProxy !== undefined) {
    throw new ConfigError(
      `this adapter takes the client IP from the framework, so \`trustProxy\` is not an option here; ${instead}`,
    )
  }
}

/** The body of the answer to a request whose session store is down. */
export const storeUnavailable = {
  status: 503,
  body: '{"error":"session_store_unavailable"}',
  headers: {
    'content-type': 'application/json',
    'retry-after': String(storeRetryAfter),
    'cache-control': 'no-store',
  },
} as const

/** The 503 as a Fetch `Response`, for the adapters that answer with one. */
export function storeUnavailableResponse(): Response {
  return new Response(storeUnavailable.body, {
    status: storeUnavailable.status,
    headers: storeUnavailable.headers,
  })
}

/** Whether `error` is the store being down or slow: a 503, not a 500. */
export function isStoreDown(error: unknown): boolean {
  return isSessionError(error, 'STORE_UNAVAILABLE')
}

/** The answer to a request carrying its session both in the cookie and in a token. */
export const sessionConflict = {
  status: 400,
  body: '{"error":"session_cookie_and_token"}',
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
} as const

/** Whether `error` is a request carrying both the cookie and a token: a 400. */
export function isConflict(error: unknown): boolean {
  return isSessionError(error, 'COOKIE_AND_TOKEN')
}

/**
 * The answer of the adapters that answer a session error themselves: 503 for a store outage,
 * 400 for a cookie and a token at once; null for any other error.
 */
export function errorAnswer(
  error: unknown,
): typeof storeUnavailable | typeof sessionConflict | null {
  if (isStoreDown(error)) return storeUnavailable
  if (isConflict(error)) return sessionConflict
  return null
}

/** `errorAnswer` as a Fetch `Response`, or null. */
export function errorResponse(error: unknown): Response | null {
  const answer = errorAnswer(error)
  return answer && new Response(answer.body, { status: answer.status, headers: answer.headers })
}

/**
 * Opens a session for a request and, unless lazy, reads it from its store. When the store is
 * down, the error is kept and thrown only if the handler touches the session, so pages that
 * never use it still answer during an outage.
 */
export async function openSession<T extends object>(
  sessions: Sessions<T>,
  headers: RequestHeaders,
  meta: RequestMeta | (() => RequestMeta),
  options: AdapterOptions,
  https?: () => boolean,
): Promise<Session<T>> {
  return openSessionNow(sessions, headers, meta, options, https)
}

/**
 * `openSession` without a promise when none is needed: the session itself when nothing has to
 * be read from a store (cookie sessions, anonymous visitors, `lazy`), which saves every request
 * that reads no store the promise hops. Throws what `sessions.open` throws.
 */
export function openSessionNow<T extends object>(
  sessions: Sessions<T>,
  headers: RequestHeaders,
  meta: RequestMeta | (() => RequestMeta) | undefined,
  options: AdapterOptions,
  https?: () => boolean,
): Session<T> | Promise<Session<T>> {
  // Asked only when the cookie is Secure on HTTPS alone, and then only when one is written.
  const session = sessions.open(headers, meta, sessions.secureAuto ? https : undefined)
  if (options.lazy || !needsLoad(session)) return session
  return session.load().then(
    () => session,
    (error: unknown) => {
      if (!isStoreDown(error)) throw error
      deferLoadError(session, error)
      return session
    },
  )
}

/**
 * The client IP: walking `X-Forwarded-For` from the right, the first address that is not a
 * trusted proxy (as Express's `proxy-addr` does), or the socket's address when none is trusted.
 */
export function clientIp(
  remote: string | undefined,
  forwarded: string | null | undefined,
  trust: Trust | null,
): string | null {
  if (trust === null || !forwarded) return remote ?? null
  const hops = forwarded.split(',')
  let address = remote ?? ''
  for (let hop = 0; hop < hops.length; hop++) {
    if (!trust(address, hop)) break
    address = (hops[hops.length - 1 - hop] as string).trim()
  }
  return address || null
}

/**
 * Whether a request came over HTTPS, for a `secure: 'auto'` cookie: the connection's own
 * protocol, unless the socket's peer is a trusted proxy. Then `X-Forwarded-Proto` says, read as
 * far as `X-Forwarded-For` is trusted: the entry of the outermost trusted proxy, counted from
 * the right, or the first when the proxies write one value (most overwrite it).
 */
export function forwardedHttps(
  connectionHttps: boolean,
  remote: string | undefined,
  forwardedFor: string | null | undefined,
  forwardedProto: string | null | undefined,
  trust: Trust | null,
): boolean {
  if (trust === null || !forwardedProto || !trust(remote ?? '', 0)) return connectionHttps
  // How many proxies are trusted: the peer, and each hop of X-Forwarded-For that trust passes.
  const hops = forwardedFor ? forwardedFor.split(',') : []
  let trusted = 1
  for (let hop = 1; hop <= hops.length; hop++) {
    if (!trust((hops[hops.length - hop] as string).trim(), hop)) break
    trusted++
  }
  const protos = forwardedProto.split(',')
  const proto = protos[Math.max(0, protos.length - trusted)] as string
  return proto.trim().toLowerCase() === 'https'
}

/**
 * The `_csrf` field of a parsed body, for the adapters' `csrf()`: each reads the
 * `X-CSRF-Token` header first and this only without one, so an API client's header is never
 * overridden by a form field.
 */
export function formField(body: unknown): string | undefined {
  const field =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>)[csrfField]
      : undefined
  return typeof field === 'string' ? field : undefined
}

/** A `Vary` value that includes `Cookie`, or each of the comma-separated `names`. */
export function varyCookie(existing: string | null | undefined, names = 'Cookie'): string {
  if (!existing) return names
  if (names === 'Cookie') return listsCookie.test(existing) ? existing : `${existing}, Cookie`
  if (/(^|,)\s*\*\s*(,|$)/.test(existing)) return existing
  let out = existing
  for (const name of names.split(', ')) {
    if (!new RegExp(`(^|,)\\s*${name}\\s*(,|$)`, 'i').test(out)) out = `${out}, ${name}`
  }
  return out
}

const listsCookie = /(^|,)\s*(cookie|\*)\s*(,|$)/i

/** The headers a commit adds, for adapters that set them one by one. */
export interface HeaderSink {
  get(name: string): string | null | undefined
  set(name: string, value: string): void
  appendSetCookie(value: string): void
}

/**
 * Writes a commit's result into a response's headers: the `Set-Cookie` line(s) or the token
 * header, and `Vary`.
 */
export function applyCommit(result: CommitResult, headers: HeaderSink): void {
  if (result.vary) headers.set('vary', varyCookie(headers.get('vary'), result.varyOn))
  const extra = result.headers
  if (result.setCookie === null && extra === undefined) return
  if (result.setCookie !== null) headers.appendSetCookie(result.setCookie)
  if (extra !== undefined) {
    for (const [name, value] of extra) {
      if (name === 'set-cookie') headers.appendSetCookie(value)
      else headers.set(name, value)
    }
  }
  // A cached response that carries a session would hand that session to the next client.
  if (!headers.get('cache-control')) headers.set('cache-control', 'no-store')
}

/** Attaches `save()` to a session, for handlers that must save before streaming. */
export function attachSave<T extends object>(session: Session<T>, save: () => Promise<void>): void {
  onSave(session, save)
}
