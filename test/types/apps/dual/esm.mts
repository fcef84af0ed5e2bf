/**
 * The ESM half of a project that loads tessera through both `import` and `require` (see
 * cjs.cts): TypeScript then reads both declaration copies, .d.ts and .d.cts, and each adapter's
 * augmentation of its framework twice; they must agree (no TS2717).
 */
import { createSessions } from 'tessera'
import * as express from 'tessera/adapters/express'
import * as fastify from 'tessera/adapters/fastify'
import * as koa from 'tessera/adapters/koa'

// An augmentation reaches the copy its file resolves: declared here for `import`, and in
// cjs.cts for `require`.
declare module 'tessera/adapters/express' {
  interface AppSession {
    username?: string
  }
}

const sessions = createSessions<{ username?: string }>({ secret: 'x'.repeat(32) })

export const loaded = [express.session(sessions), fastify.fastifySession, koa.session(sessions)]

export function greet(req: import('express').Request): string {
  return req.session.get('username') ?? 'anonymous'
}
