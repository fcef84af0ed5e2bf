/**
 * `npm run bench:codecs`: tessera's cookie codecs (sign/verify, seal/open, Flask encode/decode)
 * beside cookie-signature (express-session's signer) and iron-webcrypto (iron-session's sealer),
 * and the node:crypto and Web Crypto primitives under them, in ops/s with tinybench.
 *
 * Each tinybench sample is a batch of calls timed by the process's CPU clock (`--clock wall`
 * for the wall clock): on a shared machine, time spent waiting for a core is not counted. The
 * figure shown is the median over batches.
 *
 *   npm run bench:codecs [-- --time 1000] [-- --clock wall]
 * @module
 */
import { createCipheriv, createHmac, randomBytes, webcrypto } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import cookieSignature from 'cookie-signature'
import * as Iron from 'iron-webcrypto'
import { Bench, type FnReturnedObject } from 'tinybench'
import { createFlaskCodec } from '../src/codecs/flask/index.js'
import { createWebFlaskCodec } from '../src/codecs/flask/web.js'
import { createNativeCodec } from '../src/codecs/native.js'
import { createWebNativeCodec } from '../src/codecs/native-web.js'
import type { AsyncCookieCodec, CookieCodec, SessionData } from '../src/codecs/types.js'
import { noMeta } from '../src/codecs/types.js'
import { secret } from './lib/config.js'
import { resultsDir } from './lib/paths.js'

const { values: flags } = parseArgs({
  options: {
    time: { type: 'string', default: '600' },
    clock: { type: 'string', default: 'cpu' },
    quick: { type: 'boolean', default: false },
  },
})
const time = flags.quick ? 200 : Number(flags.time)
const clock = flags.clock === 'wall' ? 'wall' : 'cpu'

/** Milliseconds on the chosen clock. */
const now =
  clock === 'cpu'
    ? () => {
        const u = process.cpuUsage()
        return (u.user + u.system) / 1000
      }
    : () => performance.now()

const small: SessionData = { username: 'admin' }
const medium: SessionData = {
  username: 'admin',
  _csrf: 'rG3kW8x0Qm2bYt7uVh5nLp9sAe1cZd4fJo6iXw8yTq0',
  cart: [
    { sku: 'A-1001', qty: 2, price: 1999 },
    { sku: 'B-2002', qty: 1, price: 4999 },
  ],
  prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London' },
  flashes: ['Welcome back!'],
}
const maxAge = 31 * 86_400

const native = createNativeCodec({ secrets: secret })
const encrypted = createNativeCodec({ secrets: secret, encrypt: true })
const flask = createFlaskCodec({ secret })
// The same formats over Web Crypto (`crypto: 'web'`), what edge runtimes use.
const webNative = createWebNativeCodec({ secrets: secret })
const webEncrypted = createWebNativeCodec({ secrets: secret, encrypt: true })
const webFlask = createWebFlaskCodec({ secret })

interface Case {
  group: string
  name: string
  fn: () => unknown
  async?: boolean
}

function codecCases(group: string, codec: CookieCodec, data: SessionData, label: string): Case[] {
  const t = Date.now()
  const value = codec.encode(data, noMeta, t)
  const options = { now: t, maxAge }
  if (!codec.decode(value, options).ok) throw new Error(`${group}: its own cookie does not decode`)
  const [write, read, size] = caseNames(label, data)
  return [
    { group, name: `${write} (${size})`, fn: () => codec.encode(data, noMeta, t) },
    { group, name: `${read} (${size})`, fn: () => codec.decode(value, options) },
    {
      group,
      name: `${write}+${read} (${size})`,
      fn: () => codec.decode(codec.encode(data, noMeta, t), options),
    },
  ]
}

/** A codec's case names: its write and read verbs for `label`, and the session's size. */
function caseNames(label: string, data: SessionData): [write: string, read: string, size: string] {
  const size = data === small ? 'small' : 'medium'
  if (label === 'sign') return ['sign', 'verify', size]
  if (label === 'seal') return ['seal', 'open', size]
  return ['encode', 'decode', size]
}

/** `codecCases` for a codec over Web Crypto: each call awaited. */
async function webCases(
  group: string,
  codec: AsyncCookieCodec,
  data: SessionData,
  label: string,
): Promise<Case[]> {
  const t = Date.now()
  const value = await codec.encode(data, noMeta, t)
  const options = { now: t, maxAge }
  if (!(await codec.decode(value, options)).ok) throw new Error(`${group}: its own cookie fails`)
  const [write, read, size] = caseNames(label, data)
  return [
    { group, name: `${write} (${size})`, fn: () => codec.encode(data, noMeta, t), async: true },
    { group, name: `${read} (${size})`, fn: () => codec.decode(value, options), async: true },
  ]
}

const smallJson = JSON.stringify(small)
const signed = cookieSignature.sign(smallJson, secret)
const ironPassword = secret
const ironSealed = await Iron.seal(small, ironPassword, Iron.defaults)
const hmacKey = createHmac('sha256', secret).update('k').digest()
const subtleHmac = await webcrypto.subtle.importKey(
  'raw',
  hmacKey,
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['sign'],
)
const subtleAes = await webcrypto.subtle.importKey('raw', hmacKey, 'AES-GCM', false, ['encrypt'])
const message = Buffer.from(
  `session\0s1.AbCdEf.t5x9k2.${Buffer.from(smallJson).toString('base64url')}`,
)

const cases: Case[] = [
  ...codecCases('tessera native (HMAC-SHA256)', native, small, 'sign'),
  ...codecCases('tessera native (HMAC-SHA256)', native, medium, 'sign'),
  ...codecCases('tessera encrypted (AES-256-GCM)', encrypted, small, 'seal'),
  ...codecCases('tessera encrypted (AES-256-GCM)', encrypted, medium, 'seal'),
  ...codecCases('tessera flask (itsdangerous)', flask, small, 'encode'),
  ...codecCases('tessera flask (itsdangerous)', flask, medium, 'encode'),
  ...(await webCases('tessera native, Web Crypto', webNative, small, 'sign')),
  ...(await webCases('tessera encrypted, Web Crypto', webEncrypted, small, 'seal')),
  ...(await webCases('tessera flask, Web Crypto', webFlask, small, 'encode')),
  {
    group: 'cookie-signature (express-session)',
    name: 'sign (small)',
    fn: () => cookieSignature.sign(smallJson, secret),
  },
  {
    group: 'cookie-signature (express-session)',
    name: 'verify (small)',
    fn: () => cookieSignature.unsign(signed, secret),
  },
  {
    group: 'cookie-signature (express-session)',
    name: 'sign+verify (small)',
    fn: () => cookieSignature.unsign(cookieSignature.sign(smallJson, secret), secret),
  },
  {
    group: 'iron-webcrypto (iron-session)',
    name: 'seal (small)',
    fn: () => Iron.seal(small, ironPassword, Iron.defaults),
    async: true,
  },
  {
    group: 'iron-webcrypto (iron-session)',
    name: 'open (small)',
    fn: () => Iron.unseal(ironSealed, ironPassword, Iron.defaults),
    async: true,
  },
  {
    group: 'iron-webcrypto (iron-session)',
    name: 'seal+open (small)',
    fn: async () =>
      Iron.unseal(await Iron.seal(small, ironPassword, Iron.defaults), ironPassword, Iron.defaults),
    async: true,
  },
  {
    group: 'primitives',
    name: 'HMAC-SHA256, node:crypto (sync)',
    fn: () => createHmac('sha256', hmacKey).update(message).digest(),
  },
  {
    group: 'primitives',
    name: 'HMAC-SHA256, Web Crypto (async)',
    fn: () => webcrypto.subtle.sign('HMAC', subtleHmac, message),
    async: true,
  },
  {
    group: 'primitives',
    name: 'AES-256-GCM seal, node:crypto (sync)',
    fn: () => {
      const cipher = createCipheriv('aes-256-gcm', hmacKey, randomBytes(12))
      return Buffer.concat([cipher.update(message), cipher.final(), cipher.getAuthTag()])
    },
  },
  {
    group: 'primitives',
    name: 'AES-256-GCM seal, Web Crypto (async)',
    fn: () =>
      webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12) }, subtleAes, message),
    async: true,
  },
]

/** Calls per batch so that one batch takes about 2 ms. */
async function batchSize(c: Case): Promise<number> {
  const start = performance.now()
  let calls = 0
  while (performance.now() - start < 20) {
    if (c.async) await c.fn()
    else c.fn()
    calls++
  }
  const per = (performance.now() - start) / calls
  return Math.max(10, Math.min(10_000, Math.round(2 / per)))
}

const bench = new Bench({ time, warmupTime: 100 })
let sink = 0
for (const c of cases) {
  const inner = await batchSize(c)
  const name = `${c.group} | ${c.name}`
  if (c.async) {
    bench.add(name, async (): Promise<FnReturnedObject> => {
      const start = now()
      const t0 = performance.now()
      for (let i = 0; i < inner; i++) if (await c.fn()) sink++
      const elapsed = now() - start
      return {
        overriddenDuration: elapsed / inner,
        overriddenIterationCost: performance.now() - t0,
      }
    })
  } else {
    bench.add(
      name,
      (): FnReturnedObject => {
        const start = now()
        const t0 = performance.now()
        for (let i = 0; i < inner; i++) if (c.fn()) sink++
        const elapsed = now() - start
        return {
          overriddenDuration: elapsed / inner,
          overriddenIterationCost: performance.now() - t0,
        }
      },
      { async: false },
    )
  }
}

console.log(
  `tessera codecs: ${cases.length} cases, ${time} ms each, ${clock} clock, Node ${process.version}, ` +
    `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
)
await bench.run()

interface CodecRow {
  group: string
  op: string
  ops_per_s: number
  ns_per_op: number
  rme_pct: number
  samples: number
}
const rows: CodecRow[] = []
for (const task of bench.tasks) {
  const result = task.result as
    | { latency: { p50?: number; rme: number; samplesCount: number } }
    | undefined
  const p50 = result?.latency.p50
  if (!result || p50 === undefined || !(p50 > 0)) continue
  const [group, op] = task.name.split(' | ') as [string, string]
  rows.push({
    group,
    op,
    ops_per_s: Math.round(1000 / p50),
    ns_per_op: Math.round(p50 * 1e6),
    rme_pct: Math.round(result.latency.rme * 10) / 10,
    samples: result.latency.samplesCount,
  })
}
if (sink < 0) console.log(sink)

const widths = [36, 38, 12, 10]
console.log(
  `\n${'library'.padEnd(widths[0]!)}${'operation'.padEnd(widths[1]!)}${'ops/s'.padStart(widths[2]!)}${'ns/op'.padStart(widths[3]!)}`,
)
let last = ''
for (const r of rows) {
  console.log(
    `${(r.group === last ? '' : r.group).padEnd(widths[0]!)}${r.op.padEnd(widths[1]!)}` +
      `${r.ops_per_s.toLocaleString('en-US').padStart(widths[2]!)}${r.ns_per_op.toLocaleString('en-US').padStart(widths[3]!)}`,
  )
  last = r.group
}

const targets = [
  { group: 'tessera native (HMAC-SHA256)', op: 'sign+verify (small)', min: 300_000 },
  { group: 'tessera encrypted (AES-256-GCM)', op: 'seal+open (small)', min: 100_000 },
  { group: 'tessera flask (itsdangerous)', op: 'encode (small)', min: 50_000 },
  { group: 'tessera flask (itsdangerous)', op: 'decode (small)', min: 150_000 },
]
console.log(`\ntargets (${clock} clock):`)
for (const t of targets) {
  const row = rows.find((r) => r.group === t.group && r.op === t.op)
  if (!row) continue
  console.log(
    `  ${row.ops_per_s >= t.min ? 'met   ' : 'MISSED'}  ${`${t.group}, ${t.op}`.padEnd(60)} ` +
      `${row.ops_per_s.toLocaleString('en-US')} ops/s (≥ ${t.min.toLocaleString('en-US')})`,
  )
}

mkdirSync(resultsDir, { recursive: true })
writeFileSync(
  join(resultsDir, 'codecs.json'),
  `${JSON.stringify({ date: new Date().toISOString(), clock, node: process.version, rows }, null, 2)}\n`,
)
console.log('\nrows: bench/results/codecs.json')
