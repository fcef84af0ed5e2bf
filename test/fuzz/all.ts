/**
 * Every fuzz target, in the order `npm run fuzz` runs them.
 * @module
 */
import {
  encryptedLinearTarget,
  flaskCompressedLinearTarget,
  flaskInflateCapTarget,
  flaskLinearTarget,
  nativeLinearTarget,
  readCookieLinearTarget,
  storeLinearTarget,
} from './linear.js'
import {
  encryptedCodecTarget,
  encryptedRequestTarget,
  type FuzzTarget,
  fileStoreTarget,
  flaskCodecTarget,
  flaskRequestTarget,
  memoryStoreTarget,
  nativeCodecTarget,
  nativeRequestTarget,
  readCookieTarget,
  sqliteStoreTarget,
  storeRequestTarget,
} from './targets.js'

export const allTargets: readonly FuzzTarget[] = [
  readCookieTarget,
  readCookieLinearTarget,
  nativeCodecTarget,
  encryptedCodecTarget,
  flaskCodecTarget,
  nativeLinearTarget,
  encryptedLinearTarget,
  flaskLinearTarget,
  flaskCompressedLinearTarget,
  flaskInflateCapTarget,
  memoryStoreTarget,
  fileStoreTarget,
  sqliteStoreTarget,
  storeLinearTarget,
  nativeRequestTarget,
  encryptedRequestTarget,
  flaskRequestTarget,
  storeRequestTarget,
]
