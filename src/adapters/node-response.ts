/**
 * How the node:http adapter, and Express on top of it, hold a response's headers until its
 * session is committed: `writeHead`, `write` and `end` are hooked, and a server-side save that
 * is due runs before the held `end` goes on. Internal: the public face is `./node.ts`.
 * @module
 */
import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { SessionError } from '../errors.js'
import type { Session, SessionShape } from '../session/session.js'
import type { CommitResult, Sessions } from '../session/sessions.js'
import { givesVary, withVary } from './node-vary.js'
import {
  type AdapterOptions,
  attachSave,
  clientIp,
  errorAnswer,
  forwardedHttps,
  openSessionNow,
  type ProxyOptions,
  trustOf,
  varyCookie,
} from './shared.js'

/** Options of the node:http adapter. */
export interface NodeSessionOptions extends AdapterOptions, ProxyOptions {
  /**
   * Answers a request whose session could not be saved or loaded. The default answers a store
   * outage with 503 and `Retry-After`, and anything else with 500.
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void
  /**
   * Called instead of `onError` when the handler failed because its client went away (a body
   * cut short, a socket closed mid-request): nobody is left to answer, and it is no fault of the
   * server's, so nothing is logged. Count it here if you watch for it. `withSession` only.
   */
  onClientGone?: (req: IncomingMessage) => void
}

/** What a request stream fails with when its client went away. */
const clientGoneCodes: ReadonlySet<unknown> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
])

/**
 * Whether `error` is the request's client going away rather than a fault of the server: a
 * stream error of the kind a closed socket gives, on a request whose socket is gone. Both are
 * required, so a handler's own network error (a database reset) still counts as a failure.
 */
export function isClientGone(error: unknown, req: IncomingMessage): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return clientGoneCodes.has(code) && (req.destroyed || req.socket?.destroyed !== false)
}

function noop(): void {}

/**
 * How a response's methods are hooked. `own` gives each response its own `writeHead`, `write`
 * and `end`. `shared` hooks them once on the framework's response prototype and finds the
 * response's hook in a WeakMap: for Express, which re-parents every request and response with
 * `Object.setPrototypeOf`, so that V8 takes a slow path for each property added to them.
 */
export type HookMode = 'own' | 'shared'

/**
 * Opens the request's session and hooks the response, synchronously unless the session must
 * be read from its store first. Null when the response was already answered (an error).
 */
export function openAndHook<T extends object>(
  sessions: Sessions<T>,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeSessionOptions,
  mode: HookMode = 'own',
  address?: (req: IncomingMessage) => string | null,
  secure?: (req: IncomingMessage) => boolean,
): Session<T> | null | Promise<Session<T> | null> {
  const onError = options.onError ?? defaultOnError
  let opened: Session<T> | Promise<Session<T>>
  try {
    // Who made the request is read only for a session it creates: reading the socket's
    // address here cost about 30k instructions a request (callgrind), most of them wasted.
    const meta =
      sessions.mode === 'cookie'
        ? undefined
        : () => ({
            userAgent: req.headers['user-agent'] ?? null,
            // The framework's answer where it has one (Express's `req.ip`), else ours.
            ip: address ? address(req) : forwardedIp(req, options),
          })
    // The framework's answer where it has one (Express's `req.secure`), else ours.
    const https = sessions.secureAuto
      ? () => (secure ? secure(req) : forwardedProto(req, options))
      : undefined
    opened = openSessionNow(sessions, req.headers, meta, options, https)
  } catch (error) {
    onError(error, req, res)
    return null
  }
  if (!(opened instanceof Promise)) {
    hookResponse(new ResponseHook(sessions, opened, req, res, onError), mode)
    return opened
  }
  return opened.then(
    (session) => {
      hookResponse(new ResponseHook(sessions, session, req, res, onError), mode)
      return session
    },
    (error: unknown) => {
      onError(error, req, res)
      return null
    },
  )
}

function forwardedIp(req: IncomingMessage, options: NodeSessionOptions): string | null {
  const forwarded = req.headers['x-forwarded-for']
  return clientIp(
    req.socket.remoteAddress,
    Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
    trustOf(options),
  )
}

function forwardedProto(req: IncomingMessage, options: NodeSessionOptions): boolean {
  const { socket, headers } = req
  const proto = headers['x-forwarded-proto']
  const forwarded = headers['x-forwarded-for']
  return forwardedHttps(
    (socket as { encrypted?: boolean }).encrypted === true,
    socket.remoteAddress,
    Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
    Array.isArray(proto) ? proto.join(',') : proto,
    trustOf(options),
  )
}

type WriteHead = ServerResponse['writeHead']
type Write = ServerResponse['write']
type End = (...args: unknown[]) => ServerResponse

/** One response's hold on its headers until its session is committed. */
class ResponseHook<T extends object> {
  /** The session is committed (or failed): the hooked methods pass straight through. */
  done = false
  /** Puts back the response's own methods, in `own` mode. */
  restore: () => void = noop

  constructor(
    readonly sessions: Sessions<T>,
    readonly session: Session<T>,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly onError: NonNullable<NodeSessionOptions['onError']>,
  ) {
    attachSave(session, async () => {
      if (this.done) return
      const result = await sessions.commit(session)
      if (!this.res.headersSent) this.apply(result)
      this.done = true
    })
  }

  /** Commits now if no store write is due; whether the headers may go. */
  trySync(): boolean {
    const result = this.sessions.commitSync(this.session)
    if (result === null) return false
    this.apply(result)
    this.done = true
    return true
  }

  /** `applyCommit`'s rules, without a sink object and its three closures per request. */
  apply(result: CommitResult, vary = true): void {
    const { res } = this
    if (vary && result.vary) {
      const vary = res.getHeader('vary')
      res.setHeader('vary', varyCookie(vary === undefined ? null : String(vary), result.varyOn))
    }
    const extra = result.headers
    if (result.setCookie === null && extra === undefined) return
    if (result.setCookie !== null) this.appendSetCookie(result.setCookie)
    if (extra !== undefined) {
      for (const [name, value] of extra) {
        if (name === 'set-cookie') this.appendSetCookie(value)
        else res.setHeader(name, value)
      }
    }
    // A cached response that carries a session would hand that session to the next client.
    if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-store')
  }

  appendSetCookie(line: string): void {
    const { res } = this
    const existing = res.getHeader('set-cookie')
    if (existing === undefined) res.setHeader('set-cookie', line)
    else {
      res.setHeader('set-cookie', [
        ...(Array.isArray(existing) ? existing : [String(existing)]),
        line,
      ])
    }
  }

  fail(error: unknown): void {
    error
    const { res } = this
    this.done = true
    this.restore()
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : undefined)
      return
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    this.onError(error, this.req, res)
  }

  /** Whether the response's headers can go out as they are. */
  ready(): boolean {
    return this.done || this.res.headersSent || this.trySync()
  }

  writeHead(original: WriteHead, args: Parameters<WriteHead>): ServerResponse {
    const { res } = this
    if (this.done || res.headersSent) return original.apply(res, args)
    const result = this.sessions.commitSync(this.session)
    if (result !== null) {
      this.done = true
      // Node lets the headers given to `writeHead` replace those set before: a `Vary` of the
      // app's there takes `Cookie` into it (see `withVary`).
      if (!result.vary || !givesVary(args)) {
        this.apply(result)
        return original.apply(res, args)
      }
      this.apply(result, false)
      return original.apply(res, withVary(args, result.varyOn) as Parameters<WriteHead>)
    }
    // A store write is due: keep status and headers on the response until `end` has saved.
    const [status, second, third] = args as unknown as [number, unknown, unknown]
    res.statusCode = status
    if (typeof second === 'string') res.statusMessage = second
    const headers = (typeof second === 'string' ? third : second) as
      | OutgoingHttpHeaders
      | (string | string[])[]
      | undefined
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) {
        res.setHeader(String(headers[i]), headers[i + 1] as string | string[])
      }
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        if (value !== undefined) res.setHeader(name, value)
      }
    }
    return res
  }

  write(original: Write, args: Parameters<Write>): boolean {
    if (!this.ready()) {
      throw new SessionError(
        'SAVE_BEFORE_STREAMING',
        'the session changed and must be saved before the response is streamed; ' +
          'call `await session.save()` before `res.write()`',
      )
    }
    return original.apply(this.res, args)
  }

  end(original: End, args: unknown[]): ServerResponse {
    const { res } = this
    if (this.ready()) {
      this.restore()
      return original.apply(res, args)
    }
    this.sessions.commit(this.session).then((result) => {
      if (!res.headersSent) this.apply(result)
      this.done = true
      this.restore()
      original.apply(res, args)
    }, this.fail.bind(this))
    return res
  }
}

function hookResponse<T extends object>(hook: ResponseHook<T>, mode: HookMode): void {
  const { res } = hook
  const base = mode === 'shared' ? sharedBase(res) : null
  if (base !== null) {
    if (installed.has(base)) {
      hooks.set(res, hook)
      return
    }
    // A middleware that ran before this one may hold the base's unhooked `end` from this very
    // request, so the request that installs the shared hooks still gets its own.
    installShared(base)
  }
  const { end, writeHead, write } = res
  hook.restore = () => {
    res.end = end
    res.writeHead = writeHead
    res.write = write
  }
  res.writeHead = function (this: ServerResponse, ...args: Parameters<WriteHead>) {
    return hook.writeHead(writeHead, args)
  } as WriteHead
  res.write = function (this: ServerResponse, ...args: Parameters<Write>) {
    return hook.write(write, args)
  } as Write
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    return hook.end(end as End, args)
  } as ServerResponse['end']
}

/** What the shared methods call on a response's hook. */
type SharedHook = Pick<ResponseHook<SessionShape>, 'done' | 'writeHead' | 'write' | 'end'>

/** The hooks of responses whose methods are hooked on a shared prototype. */
const hooks = new WeakMap<ServerResponse, SharedHook>()

/** The response prototypes whose methods are hooked. */
const installed = new WeakSet<object>()

/** Each response prototype seen, and the base under it that is hooked (null: hook the response). */
const bases = new WeakMap<object, object | null>()

/**
 * The prototype just above `ServerResponse.prototype` in the response's chain: Express's own
 * `response`, which every app's and sub-app's `res` inherits even as Express re-parents it.
 * Null when the response is a plain `ServerResponse`, whose prototype is Node's to keep.
 */
function sharedBase(res: ServerResponse): object | null {
  const proto = Object.getPrototypeOf(res) as object | null
  if (proto === null) return null
  let base = bases.get(proto)
  if (base !== undefined) return base
  base = null
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const parent = Object.getPrototypeOf(p) as object | null
    if (parent === ServerResponse.prototype) {
      base = p
      break
    }
  }
  bases.set(proto, base)
  return base
}

/** Hooks `writeHead`, `write` and `end` on `base` once; responses without a hook pass through. */
function installShared(base: object): void {
  installed.add(base)
  const target = base as ServerResponse
  const { end, writeHead, write } = target
  target.writeHead = function (this: ServerResponse, ...args: Parameters<WriteHead>) {
    const hook = hooks.get(this)
    return hook === undefined || hook.done
      ? writeHead.apply(this, args)
      : hook.writeHead(writeHead, args)
  } as WriteHead
  target.write = function (this: ServerResponse, ...args: Parameters<Write>) {
    const hook = hooks.get(this)
    return hook === undefined || hook.done ? write.apply(this, args) : hook.write(write, args)
  } as Write
  target.end = function (this: ServerResponse, ...args: unknown[]) {
    const hook = hooks.get(this)
    return hook === undefined || hook.done
      ? (end as End).apply(this, args)
      : hook.end(end as End, args)
  } as ServerResponse['end']
}

/**
 * The `onError` used when none is given: 503 for a store outage, 400 for a request carrying
 * both the session cookie and a token, 500 for anything else.
 */
export function defaultOnError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  const answer = errorAnswer(error)
  if (answer) {
    res.writeHead(answer.status, answer.headers)
    res.end(answer.body)
    return
  }
  console.error('tessera: the request failed', error)
  res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end('Internal Server Error')
}
