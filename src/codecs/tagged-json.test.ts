import { describe, expect, it } from 'vitest'
import { SerializeError } from '../errors.js'
import { createNativeJSON } from './tagged-json.js'

describe('the native bytes tag', () => {
  it('reads bytes back from the canonical base64url it writes', () => {
    const json = createNativeJSON()
    const bytes = new Uint8Array([0, 1, 254, 255])

    expect(json.untag(json.tag(bytes))).toEqual(bytes)
    expect(json.untag({ ' b': '' })).toEqual(new Uint8Array())
  })

  it('refuses a second spelling of the same bytes', () => {
    const json = createNativeJSON()

    // "AB" decodes to the same byte as "AA": only the spelling tessera writes is read.
    expect(() => json.untag({ ' b': 'AB' })).toThrow(SerializeError)
    expect(() => json.untag({ ' b': 'AAAAA' })).toThrow(SerializeError)
  })
})

describe('forbidden keys', () => {
  it('are refused at any depth, when tagging and when untagging', () => {
    const json = createNativeJSON()

    expect(() => json.tag({ a: { b: JSON.parse('{"__proto__":1}') } })).toThrow(SerializeError)
    expect(() => json.untag({ a: [{ constructor: 1 }] })).toThrow(SerializeError)
    expect(() => json.untag({ ' di': { prototype__: 1 } })).toThrow(SerializeError)
  })
})
