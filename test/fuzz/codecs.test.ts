/**
 * Fuzzing every codec's decode path with arbitrary text, mutations of valid cookies, and hostile
 * JSON signed (or sealed) with the real key so the JSON parser and the tags are reached: decode
 * never throws, never hangs, never accepts a forbidden key or a changed cookie, and whatever it
 * accepts can be written back. Then the same in linear time.
 */
import { describe } from 'vitest'
import {
  encryptedLinearTarget,
  flaskCompressedLinearTarget,
  flaskInflateCapTarget,
  flaskLinearTarget,
  nativeLinearTarget,
} from './linear.js'
import { fuzz } from './support/run.js'
import { encryptedCodecTarget, flaskCodecTarget, nativeCodecTarget } from './targets.js'

describe('fuzz: codecs', () => {
  fuzz(nativeCodecTarget)
  fuzz(encryptedCodecTarget)
  fuzz(flaskCodecTarget)
  fuzz(nativeLinearTarget)
  fuzz(encryptedLinearTarget)
  fuzz(flaskLinearTarget)
  fuzz(flaskCompressedLinearTarget)
  fuzz(flaskInflateCapTarget)
})
