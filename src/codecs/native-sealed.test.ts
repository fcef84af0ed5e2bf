import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { deriveKey, keyId } from '../primitives/keys.js'
import { type XChaCha, xchachaJs } from '../primitives/xchacha.js'
import { xchacha } from '../primitives/xchacha-native.js'
import { createNativeCodec } from './native.js'
import { noMeta } from './types.js'

const secret = 'a-test-secret-that-is-32-bytes-long!'
const t0 = Date.UTC(2026, 0, 1)
const day = 86_400
const meta = { createdAt: t0, user: 'admin', permanent: true }

/** An `e1.` cookie as tessera 0.1 sealed it: AES-256-GCM, a 12-byte IV, the head as AAD. */
function sealE1(json: string, name = 'session'): string {
  const key = deriveKey(Buffer.from(secret), 'cookie-aes-256-gcm')
  const head = `e1.${keyId(Buffer.from(secret))}.${Math.floor(t0 / 1000).toString(36)}`
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(`${name}\0${head}`))
  const sealed = Buffer.concat([
    iv,
    cipher.update(json, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ])
  return `${head}.${sealed.toString('base64url')}`
}

describe('encrypted native cookies (e2, XChaCha20-Poly1305)', () => {
  it('writes e2 cookies and still reads e1 cookies sealed by 0.1', () => {
    const codec = createNativeCodec({ secrets: secret, encrypt: true })

    const written = codec.encode({ a: 1 }, noMeta, t0)
    const old = codec.decode(sealE1(`[{"username":"admin"},${t0 / 1000},"admin",1]`), {
      now: t0,
      maxAge: day,
    })

    expect(written).toMatch(/^e2\./)
    expect(old).toEqual({
      ok: true,
      data: { username: 'admin' },
      meta,
      issuedAt: t0,
      keyIndex: 0,
    })
  })

  it('refuses an e1 cookie sealed for another cookie name', () => {
    const codec = createNativeCodec({ secrets: secret, encrypt: true })

    const result = codec.decode(sealE1('[{},null]', 'other'), { now: t0, maxAge: day })

    expect(result).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses an e2 body re-labelled e1, and an e1 body re-labelled e2', () => {
    const codec = createNativeCodec({ secrets: secret, encrypt: true })
    const e2 = codec.encode({ a: 1 }, noMeta, t0)
    const e1 = sealE1('[{"a":1},null]')

    expect(codec.decode(`e1${e2.slice(2)}`, { now: t0, maxAge: day }).ok).toBe(false)
    expect(codec.decode(`e2${e1.slice(2)}`, { now: t0, maxAge: day }).ok).toBe(false)
  })

  it('refuses an e2 body whose base64url is not in its canonical spelling', () => {
    const codec = createNativeCodec({ secrets: secret, encrypt: true })
    // 24 + 15 + 16 bytes: the last base64 group has 2 characters, so 4 bits to spare.
    const value = codec.encode({ a: 12 }, noMeta, t0)
    // The last character's unused low bits set: the same bytes, spelled another way.
    const tail = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = tail.indexOf(value.at(-1)!)
    const respelled = value.slice(0, -1) + tail[last | 1]

    expect(respelled).not.toBe(value)
    expect(codec.decode(respelled, { now: t0, maxAge: day })).toEqual({
      ok: false,
      reason: 'malformed',
    })
  })

  // Whichever implementation a server loads, the cookies are the same format: an edge runtime
  // (the JavaScript one) and a Node server (libsodium) read each other's.
  const implementations: [string, XChaCha][] = [
    ['JavaScript', xchachaJs],
    ['the loaded one', xchacha()],
  ]
  for (const [writerName, writer] of implementations) {
    for (const [readerName, reader] of implementations) {
      it(`reads with ${readerName} what ${writerName} sealed`, () => {
        const write = createNativeCodec({ secrets: secret, encrypt: true, xchacha: writer })
        const read = createNativeCodec({ secrets: secret, encrypt: true, xchacha: reader })

        const result = read.decode(write.encode({ n: 'é😀', list: [1, 2] }, meta, t0), {
          now: t0,
          maxAge: day,
        })

        expect(result).toEqual({
          ok: true,
          data: { n: 'é😀', list: [1, 2] },
          meta,
          issuedAt: t0,
          keyIndex: 0,
        })
      })
    }
  }

  it('loads libsodium on this machine, so the fast path is the one measured', () => {
    expect(xchacha().name).toBe('libsodium')
  })
})
