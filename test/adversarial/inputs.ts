/**
 * The plan's hostile client inputs (sections 4.1 and 4.2), shared by the cases against the
 * fixture app and those against the demo site, so both face the same variants.
 * @module
 */
import type { Mode } from './app.js'

// ---------------------------------------------------------------------------------------------
// T-01: tampered variants of a valid cookie

/** The value with one bit of byte `at` of a base64url segment flipped, re-encoded. */
function flipB64(segment: string, at: number): string {
  const bytes = Buffer.from(segment, 'base64url')
  const i = at < 0 ? bytes.length + at : at
  bytes[i] = bytes[i]! ^ 0x01
  return bytes.toString('base64url')
}

/** Another spelling of a base64url segment: its last character with a spare low bit flipped. */
export function respell(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(segment.at(-1)!)
  return segment.slice(0, -1) + alphabet[last ^ 0x01]
}

function flipBase36(text: string): string {
  return (Number.parseInt(text, 36) ^ 1).toString(36)
}

/** T-01's variants of a valid cookie value V of `mode`'s format, by name. */
export function tamperedVariants(mode: Mode, v: string): [string, string][] {
  const out: [string, string][] = []
  if (mode.name === 'flask') {
    const compressed = v.startsWith('.')
    const [payload, ts, sig] = (compressed ? v.slice(1) : v).split('.') as [string, string, string]
    const dot = compressed ? '.' : ''
    out.push(
      ['payload: first byte bit flipped', `${dot}${flipB64(payload, 0)}.${ts}.${sig}`],
      ['payload: last byte bit flipped', `${dot}${flipB64(payload, -1)}.${ts}.${sig}`],
      ['timestamp: bit flipped', `${dot}${payload}.${flipB64(ts, -1)}.${sig}`],
      ['MAC: first byte bit flipped', `${dot}${payload}.${ts}.${flipB64(sig, 0)}`],
      ['MAC: last byte bit flipped', `${dot}${payload}.${ts}.${flipB64(sig, -1)}`],
      ['compression marker toggled', compressed ? v.slice(1) : `.${v}`],
      ['separator removed', `${dot}${payload}${ts}.${sig}`],
      ['separator replaced', `${dot}${payload}_${ts}.${sig}`],
      ['empty MAC', `${dot}${payload}.${ts}.`],
      ['MAC only', sig],
    )
  } else {
    const parts = v.split('.')
    const [version, kid, iat, body] = parts as [string, string, string, string]
    const tail = parts.slice(4)
    const join5 = (...p: string[]) => p.join('.')
    out.push(
      [
        'version: bit flipped',
        join5(`${String.fromCharCode(version.charCodeAt(0) ^ 1)}1`, kid, iat, body, ...tail),
      ],
      ['key id: bit flipped', join5(version, flipB64(kid, 0), iat, body, ...tail)],
      ['issued-at: bit flipped', join5(version, kid, flipBase36(iat), body, ...tail)],
      ['separator removed', v.replace(`.${iat}.`, `${iat}.`)],
      ['separator replaced', v.replace(`.${iat}.`, `_${iat}.`)],
    )
    if (mode.name === 'signed') {
      const mac = tail[0]!
      out.push(
        ['payload: first byte bit flipped', join5(version, kid, iat, flipB64(body, 0), mac)],
        ['payload: last byte bit flipped', join5(version, kid, iat, flipB64(body, -1), mac)],
        ['MAC: first byte bit flipped', join5(version, kid, iat, body, flipB64(mac, 0))],
        ['MAC: last byte bit flipped', join5(version, kid, iat, body, flipB64(mac, -1))],
        ['MAC: another spelling (spare bits)', join5(version, kid, iat, body, respell(mac))],
        ['empty MAC', `${join5(version, kid, iat, body)}.`],
        ['no MAC segment', join5(version, kid, iat, body)],
        ['MAC only', mac],
      )
    } else {
      const sealed = Buffer.from(body, 'base64url')
      const at = (i: number) => {
        const copy = Buffer.from(sealed)
        copy[i] = copy[i]! ^ 0x01
        return join5(version, kid, iat, copy.toString('base64url'))
      }
      out.push(
        ['nonce (IV): bit flipped', at(0)],
        ['ciphertext: bit flipped', at(12)],
        ['tag: first byte bit flipped', at(sealed.length - 16)],
        ['tag: last byte bit flipped', at(sealed.length - 1)],
        ['sealed: another spelling (spare bits)', join5(version, kid, iat, respell(body))],
        ['empty tag', join5(version, kid, iat, sealed.subarray(0, -16).toString('base64url'))],
        ['tag only', sealed.subarray(-16).toString('base64url')],
      )
    }
  }
  out.push(
    ['MAC truncated by one char', v.slice(0, -1)],
    ['one char appended', `${v}A`],
    ['upper-cased', v.toUpperCase()],
  )
  return out
}

// ---------------------------------------------------------------------------------------------
// M-01, M-05, M-06, M-11: malformed cookie values and headers

/**
 * M-02: the valid cookie value `valid` of `mode` grown to `target` characters inside its payload
 * (after the id for server-side ones), still shaped like a real one.
 */
export function grownValue(mode: Mode, valid: string, target: number): string {
  const extra = target - valid.length
  if (mode.name === 'flask') {
    const payloadEnd = valid.indexOf('.', 1)
    return valid.slice(0, payloadEnd) + 'A'.repeat(extra) + valid.slice(payloadEnd)
  }
  if (mode.group === 'SRV') return valid + 'A'.repeat(extra)
  const parts = valid.split('.')
  parts[3] = parts[3] + 'A'.repeat(extra)
  return parts.join('.')
}

/** M-01's values: none of them is a cookie any mode could have issued. */
export const malformedValues: readonly string[] = [
  '%%%',
  '!!!!',
  'abc',
  'YWJj ZGVm',
  'a.b.c.d',
  '.',
  '..',
  '',
  'c2VnbWVudA',
  'a.b.c.d.e.f.g.h.i',
  `${'A'.repeat(43)}.${'A'.repeat(43)}.${'A'.repeat(43)}`,
]

/** M-05's odd bytes, by name. */
export const oddBytes: readonly (readonly [string, Buffer])[] = [
  ['é (UTF-8)', Buffer.from('é', 'utf8')],
  ['emoji (UTF-8)', Buffer.from('😀', 'utf8')],
  ['%C3%A9', Buffer.from('%C3%A9')],
  ['overlong %C0%AF', Buffer.from('%C0%AF')],
  ['lone surrogate %ED%A0%80', Buffer.from('%ED%A0%80')],
  ['truncated escape %E0%A4%A', Buffer.from('%E0%A4%A')],
  ['raw NUL', Buffer.from([0])],
  ['%00', Buffer.from('%00')],
  ['raw DEL', Buffer.from([0x7f])],
  ['embedded TAB', Buffer.from('\t')],
]

/** The odd bytes Node's HTTP parser refuses in a header (400) before any app sees them. */
export const refusedByNode: ReadonlySet<string> = new Set(['raw NUL', 'raw DEL'])

/**
 * M-05's Cookie headers: each odd byte placed in the value (start, middle, end, whole) and in
 * the name of the cookie `name=valid`, as raw bytes.
 */
export function oddCookieHeaders(
  name: string,
  valid: string,
): { what: string; label: string; header: Buffer }[] {
  const b = (s: string) => Buffer.from(s, 'latin1')
  const out: { what: string; label: string; header: Buffer }[] = []
  for (const [what, bytes] of oddBytes) {
    const shapes: [string, Buffer][] = [
      ['value suffix', Buffer.concat([b(`${name}=${valid}`), bytes])],
      ['value prefix', Buffer.concat([b(`${name}=`), bytes, b(valid)])],
      [
        'value middle',
        Buffer.concat([b(`${name}=${valid.slice(0, 20)}`), bytes, b(valid.slice(20))]),
      ],
      ['name', Buffer.concat([b(name.slice(0, 4)), bytes, b(`${name.slice(4)}=${valid}`)])],
      ['name suffix', Buffer.concat([b(name), bytes, b(`=${valid}`)])],
      ['the whole value', Buffer.concat([b(`${name}=`), bytes])],
    ]
    for (const [where, header] of shapes) {
      // A TAB at either end of the value or after the name is whitespace around them: HTTP
      // trims it from the header, or the cookie parser does (M-06 expects the same session).
      if (what === 'embedded TAB' && where !== 'value middle' && where !== 'name') continue
      out.push({ what, label: `${what} in the ${where}`, header })
    }
  }
  return out
}

/**
 * M-06's Cookie headers for `name=valid`: `same` spell the same cookie (whitespace around the
 * name and value, the DQUOTE form, empty pairs, a trailing `;`); `broken` do not (whitespace
 * inside the value, unbalanced or doubled quotes).
 */
export function respelledCookieHeaders(
  name: string,
  valid: string,
): { same: string[]; broken: string[] } {
  const cut = Math.floor(valid.length / 2)
  return {
    same: [
      ` ${name} = ${valid} `,
      `${name}="${valid}"`,
      `;;${name}=${valid};;`,
      `${name}=${valid};`,
      `other=1;  ${name}=${valid}  ;other2=2`,
    ],
    broken: [
      `${name}=${valid.slice(0, cut)} ${valid.slice(cut)}`,
      `${name}=${valid.slice(0, cut)}\t${valid.slice(cut)}`,
      `${name}="${valid}`,
      `${name}=""${valid}""`,
    ],
  }
}

/** M-11's hostile session ids: paths, patterns, SQL, CRLF, too long, too short. */
export const hostileIds: readonly string[] = [
  '../../etc/passwd',
  '..%2F..%2Fx',
  '*',
  'sess:*',
  "' OR '1'='1",
  '\\r\\nFLUSHALL',
  'x'.repeat(10_240),
  'x',
  `../../${'A'.repeat(40)}.${'A'.repeat(43)}`,
  `${'A'.repeat(41)}/..${'.'}${'A'.repeat(43)}`,
]
