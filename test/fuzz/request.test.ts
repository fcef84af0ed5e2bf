/**
 * Fuzzing the whole request path, in process: the node:http adapter's `withSession` with
 * arbitrary `Cookie` headers, for each cookie format and a server-side store. Every request
 * answers 200 within a second; a page that never touches the session gets no Set-Cookie; a
 * header whose valid values are known sees exactly the right user; what a request writes, the
 * next one reads; a logged-out session stays logged out.
 */
import { describe } from 'vitest'
import { fuzz } from './support/run.js'
import {
  encryptedRequestTarget,
  flaskRequestTarget,
  nativeRequestTarget,
  storeRequestTarget,
} from './targets.js'

describe('fuzz: the request path', () => {
  fuzz(nativeRequestTarget)
  fuzz(encryptedRequestTarget)
  fuzz(flaskRequestTarget)
  fuzz(storeRequestTarget)
})
