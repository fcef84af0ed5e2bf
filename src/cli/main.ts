/**
 * The `tessera` command line: secrets, cookie inspection, and session operations on a store.
 * Exit codes: 0 done, 1 failed (with a message), 2 bad usage.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createFlaskCodec, dumpsSession, flaskJSON } from '../codecs/flask/index.js'
import { createNativeCodec } from '../codecs/native.js'
import { createNativeJSON } from '../codecs/tagged-json.js'
import type { CookieCodec, SessionData } from '../codecs/types.js'
import { noMeta } from '../codecs/types.js'
import { isSessionError } from '../errors.js'
import { maxLifetime } from '../primitives/durations.js'
import { maxCookieBytes } from '../primitives/limits.js'
import type { SessionSummary, Store } from '../stores/types.js'
import { defaultFileStoreDir, openStore, parseStoreUrl } from '../stores/url.js'
import { chunkLimit, createChunker, plainBit } from '../transports/chunks.js'
import { createCookieWriter } from '../transports/cookie.js'
import { commands, helpFor } from './help.js'

const usage = helpFor('')

/** The version in tessera's package.json, found from this file in dist/ or src/cli/. */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'tessera' && pkg.version) return pkg.version
    } catch {}
    const parent = dirname(dir)
    if (parent === dir) throw new Error("tessera's package.json was not found above the CLI")
    dir = parent
  }
}

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {}

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
export async function main(
  argv: readonly string[],
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  },
): Promise<number> {
  try {
    return await run(argv, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`tessera: ${error.message}\n\n${usage}`)
      return 2
    }
    if (isUsageProblem(error) || isSessionError(error, 'CONFIG')) {
      io.err(`tessera: ${(error as Error).message}\n\n${usage}`)
      return 2
    }
    io.err(`tessera: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
}

async function run(
  argv: readonly string[],
  io: { out: (text: string) => void; err: (text: string) => void },
): Promise<number> {
  const [command, sub, ...rest] = argv
  // `tessera help cookie decode` and `tessera cookie decode --help` (before any `--`) alike.
  const words = command === 'help' ? argv.slice(1) : argv
  const end = words.indexOf('--')
  if (command === 'help' || (end === -1 ? words : words.slice(0, end)).some(isHelpFlag)) {
    io.out(helpFor(commandName(words)))
    return 0
  }
  switch (command) {
    case undefined:
      io.out(usage)
      return 2
    case '--version':
    case '-v':
      io.out(version())
      return 0
    case 'secret':
      io.out(randomBytes(32).toString('base64url'))
      return 0
    case 'cookie':
      if (sub === 'decode') return decodeCommand(rest, io)
      if (sub === 'encode') return encodeCommand(rest, io)
      throw new UsageError(`unknown cookie command "${sub ?? ''}"; use decode or encode`)
    case 'sessions':
      return sessionsCommand(sub, rest, io)
    case 'migrate':
      return withStore(
        [sub, ...rest].filter((a): a is string => a !== undefined),
        async (store, _values, url) => {
          const target = parseStoreUrl(url)
          if (target.kind === 'file') {
            // The file store makes its folder on first use; migrate makes it now, as the
            // sessions commands will not.
            const dir = target.dir ?? defaultFileStoreDir()
            if (await mkdir(dir, { recursive: true, mode: 0o700 })) {
              io.out(`created the folder ${dir} for the file store`)
              return 0
            }
          }
          if (!store.migrate) {
            io.out(`the ${store.name} store needs no migration`)
            return 0
          }
          await store.migrate()
          io.out(`migrated the ${store.name} store`)
          return 0
        },
        { create: true },
      )
    default:
      throw new UsageError(`unknown command "${command}"`)
  }
}

function isHelpFlag(word: string): boolean {
  return word === '--help' || word === '-h'
}

/** The known command the words start with ('cookie decode', 'cookie', …), or '' for none. */
function commandName(words: readonly string[]): string {
  const two = words.slice(0, 2).join(' ')
  if (commands[two]) return two
  const one = words[0] ?? ''
  if (Object.keys(commands).some((name) => name === one || name.startsWith(`${one} `))) return one
  return ''
}

const codecOptions = {
  secret: { type: 'string' },
  fallback: { type: 'string', multiple: true },
  format: { type: 'string', default: 'native' },
  encrypted: { type: 'boolean', default: false },
  name: { type: 'string' },
  now: { type: 'string' },
} as const

function makeCodec(values: {
  secret?: string | undefined
  fallback?: string[] | undefined
  format?: string | undefined
  encrypted?: boolean | undefined
  name?: string | undefined
  /** The longest value to take: a chunked session's joined pieces pass one cookie's size. */
  maxLength?: number | undefined
}): { codec: CookieCodec; tag: (data: SessionData) => string; untag: (json: unknown) => unknown } {
  if (!values.secret) throw new UsageError('--secret is required')
  const fallbacks = values.fallback ?? []
  if (values.format === 'flask') {
    return {
      codec: createFlaskCodec({ secret: values.secret, fallbacks }),
      tag: (data) => dumpsSession(data),
      untag: (json) => flaskJSON.untag(json),
    }
  }
  if (values.format !== 'native') {
    throw new UsageError(`--format must be native or flask, not "${values.format}"`)
  }
  const json = createNativeJSON()
  return {
    codec: createNativeCodec({
      secrets: [values.secret, ...fallbacks],
      encrypt: values.encrypted ?? false,
      name: values.name ?? 'session',
      json,
      ...(values.maxLength === undefined ? {} : { maxLength: values.maxLength }),
    }),
    tag: (data) => json.stringify(data),
    untag: (value) => json.untag(value),
  }
}

function parseNow(text: string | undefined): number {
  if (text === undefined) return Date.now()
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`--now takes unix seconds, not "${text}"`)
  return Number(text) * 1000
}

function decodeCommand(args: string[], io: { out: (t: string) => void; err: (t: string) => void }) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...codecOptions, 'max-age': { type: 'string', default: '2678400' } },
  })
  if (positionals.length === 0) throw new UsageError('cookie decode takes a COOKIE value')
  const maxAge = Number(values['max-age'])
  if (!Number.isInteger(maxAge) || maxAge < 0) throw new UsageError('--max-age takes whole seconds')
  const pasted = parsePasted(positionals, values.name)
  const { value } = pasted
  const { codec, tag } = makeCodec({
    ...values,
    name: pasted.name ?? values.name,
    maxLength: pasted.chunked ? value.length : undefined,
    // The value says how it was made: e2. (and e1. before it) is encrypted, s1. signed.
    encrypted: /^e[12]\./.test(value) || (values.encrypted === true && !value.startsWith('s1.')),
  })
  const now = parseNow(values.now)
  // A native cookie may carry its own lifetime (`session.maxAge`), which then stands for --max-age.
  const result = codec.decode(value, { now, maxAge: codec.lifetimes ? maxLifetime : maxAge })
  const expired =
    result.ok && codec.lifetimes && now - result.issuedAt >= (result.meta.maxAge ?? maxAge) * 1000
  if (!result.ok || expired) {
    const reason = result.ok ? 'expired' : result.reason
    io.err(`invalid cookie: ${describeReason(reason)}${formatHint(value, values.format)}`)
    return 1
  }
  io.out(tag(result.data))
  return 0
}

/**
 * What was pasted: one value; one `NAME=VALUE`; or the pieces of a chunked session
 * (`session.0=…; session.1=…`, as one Cookie header or as several arguments), which are joined
 * as the server joins them, so a missing or doubled piece is named here rather than failing
 * the signature.
 */
function parsePasted(
  texts: readonly string[],
  named: string | undefined,
): { name: string | undefined; value: string; chunked?: boolean } {
  const pairs = texts.flatMap((text) =>
    text
      .split(';')
      .map(parsePastedCookie)
      .filter((pair) => pair.value !== '' || pair.name !== undefined),
  )
  if (pairs.length === 1 && texts.length === 1) {
    const [only] = pairs as [{ name: string | undefined; value: string }]
    if (only.name !== undefined && named !== undefined && only.name !== named) {
      if (chunkBase(only.name) !== named) {
        throw new UsageError(
          `the cookie is named "${only.name}" but --name ${named} was given; drop --name, or give the value without its name`,
        )
      }
    } else if (chunkBase(only.name) === undefined) return only
  }
  if (pairs.some((pair) => pair.name === undefined)) {
    throw new UsageError(
      'give several cookies as NAME=VALUE (the pieces of a chunked session: session.0=… session.1=…)',
    )
  }
  const bases = new Set(pairs.map((pair) => chunkBase(pair.name) ?? pair.name))
  const name = named ?? (bases.size === 1 ? [...bases][0] : bases.has('session') ? 'session' : '')
  if (!name || !bases.has(name)) {
    throw new UsageError(
      `which cookie is the session? the cookies are ${[...bases].join(', ')}; say it with --name`,
    )
  }
  const header = pairs.map((pair) => `${pair.name}=${pair.value}`).join('; ')
  const chunker = createChunker(createCookieWriter({ name }), {
    maxChunks: chunkLimit,
    maxBytes: Math.max(maxCookieBytes, header.length),
  })
  const incoming = chunker.read(header)
  if (incoming.refused !== null || incoming.values.length === 0) {
    throw new UsageError(
      `the pieces of the chunked cookie ${name} do not join: each of ${name}.0, ${name}.1, … must be given once, with none missing`,
    )
  }
  if (incoming.values.length > 1) {
    throw new UsageError(
      `both ${name} and its chunks ${name}.0, … were given; a session is one or the other: give one`,
    )
  }
  return { name, value: incoming.values[0]!, chunked: incoming.held !== plainBit }
}

/** `session` for a chunk's name `session.3`; undefined for any other name. */
function chunkBase(name: string | undefined): string | undefined {
  const match = name === undefined ? null : /^(.+)\.(0|[1-9]\d?)$/.exec(name)
  return match ? match[1] : undefined
}

/**
 * A cookie as pasted: the value alone, or `NAME=VALUE` as a browser's tools copy it, with
 * spaces or a `;` around it. Neither format's values contain `=`, so one means a name.
 */
function parsePastedCookie(text: string): { name: string | undefined; value: string } {
  const trimmed = text.trim().replace(/;$/, '').trim()
  const named = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=(.*)$/s.exec(trimmed)
  if (!named) return { name: undefined, value: trimmed }
  return { name: named[1]!, value: named[2]!.trim().replace(/^"(.*)"$/s, '$1') }
}

/** A hint when a cookie of one format was decoded as the other. */
function formatHint(value: string, format: string | undefined): string {
  const native = /^[es]1\./.test(value)
  if (format === 'flask' && native) return '; it looks like a tessera cookie: drop --format flask'
  if (format !== 'flask' && !native && /^\.?[\w-]+\.[\w-]+\.[\w-]+$/.test(value)) {
    return '; it looks like a Flask cookie: add --format flask'
  }
  return ''
}

function encodeCommand(args: string[], io: { out: (t: string) => void }) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: codecOptions })
  if (positionals.length !== 1) throw new UsageError('cookie encode takes one JSON argument')
  const { codec, untag } = makeCodec(values)
  let json: unknown
  try {
    json = JSON.parse(positionals[0]!)
  } catch (cause) {
    throw new UsageError(`the session is not valid JSON: ${(cause as Error).message}`)
  }
  const data = untag(json)
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError('the session must be a JSON object')
  }
  io.out(codec.encode(data as SessionData, noMeta, parseNow(values.now)))
  return 0
}

const reasons: Record<string, string> = {
  malformed: 'it is not a well-formed session cookie',
  bad_signature: 'the signature does not match (wrong secret, or the cookie was changed)',
  unknown_key: 'it was signed with a secret that is not in the list',
  expired: 'it is older than --max-age',
  future: 'it is dated in the future (check the clocks, or --now)',
  bad_payload: 'the signature is valid but the data inside cannot be read',
  not_object: 'the data inside is not a JSON object',
  too_large: 'it is longer than any session cookie can be',
  invalid_data: 'the data inside is not valid',
}

function describeReason(reason: string): string {
  return `${reasons[reason] ?? reason} (${reason})`
}

async function withStore(
  args: string[],
  body: (
    store: Store,
    values: { user?: string | undefined; id?: string | undefined; limit?: string | undefined },
    url: string,
  ) => Promise<number>,
  { create }: { create: boolean } = { create: false },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      user: { type: 'string' },
      id: { type: 'string' },
      limit: { type: 'string' },
    },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const url = values.store ?? process.env.SESSION_STORE
  if (!url) throw new UsageError('--store URL is required (or set SESSION_STORE)')
  // Only migrate creates a missing database file or folder: a typo in a path given to list,
  // revoke or prune fails with the path instead of reading an empty store made there.
  const store = await openStore(url, { create })
  try {
    return await body(store, values, url)
  } finally {
    await store.close?.()
  }
}

async function sessionsCommand(
  sub: string | undefined,
  args: string[],
  io: { out: (t: string) => void; err: (t: string) => void },
): Promise<number> {
  switch (sub) {
    case 'list':
      return withStore(args, async (store, { user, limit }) => {
        const max = limit === undefined ? 100 : Number(limit)
        if (!Number.isInteger(max) || max < 1) throw new UsageError('--limit takes a whole number')
        let list: SessionSummary[]
        if (user !== undefined) {
          if (!store.listByUser)
            throw new Error(`the ${store.name} store cannot list a user's sessions`)
          list = (await store.listByUser(user)).slice(0, max)
        } else {
          if (!store.list)
            throw new Error(`the ${store.name} store cannot list its sessions; give --user`)
          list = await store.list({ limit: max })
        }
        io.out(['KEY', 'USER', 'CREATED', 'LAST SEEN', 'IP', 'USER AGENT'].join('\t'))
        for (const s of list) {
          io.out(
            [
              s.key,
              s.userId ?? '-',
              new Date(s.createdAt).toISOString(),
              new Date(s.lastSeenAt).toISOString(),
              s.ip ?? '-',
              s.userAgent ?? '-',
            ].join('\t'),
          )
        }
        const whose = user === undefined ? '' : ` of user ${user}`
        io.err(`${list.length} live session${list.length === 1 ? '' : 's'}${whose}`)
        return 0
      })
    case 'revoke':
      return withStore(args, async (store, { user, id }) => {
        if ((user === undefined) === (id === undefined)) {
          throw new UsageError('sessions revoke needs exactly one of --user ID or --id KEY')
        }
        if (id !== undefined) {
          await store.destroy(id)
          io.out('revoked 1 session')
          return 0
        }
        if (!store.destroyByUser) throw new Error(`the ${store.name} store cannot revoke by user`)
        const count = await store.destroyByUser(user!)
        io.out(`revoked ${count} session${count === 1 ? '' : 's'} of user ${user}`)
        return 0
      })
    case 'prune':
      return withStore(args, async (store) => {
        if (!store.prune) {
          io.out(`the ${store.name} store expires sessions by itself; nothing to prune`)
          return 0
        }
        const started = Date.now()
        let lastReport = started
        const count = await store.prune({
          onProgress: (removed) => {
            // A progress line only on long runs, at most once a second.
            const t = Date.now()
            if (t - lastReport >= 1000) {
              lastReport = t
              io.err(`pruned ${removed} so far…`)
            }
          },
        })
        io.out(`pruned ${count} expired session${count === 1 ? '' : 's'}`)
        return 0
      })
    default:
      throw new UsageError(`unknown sessions command "${sub ?? ''}"; use list, revoke or prune`)
  }
}

function isUsageProblem(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
}
