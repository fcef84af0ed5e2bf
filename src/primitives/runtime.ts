/**
 * Node's built-in modules, for the code that runs faster or only with them. This is the one
 * module of the core that imports `node:*`; the edge build (`dist/edge/`, chosen by the
 * `workerd`, `edge-light`, `worker` and `browser` export conditions) puts `runtime-edge.ts` in
 * its place, where each is null, so an edge bundler never sees a `node:` import.
 * @module
 */
import * as crypto from 'node:crypto'
import * as module from 'node:module'
import * as net from 'node:net'
import * as zlib from 'node:zlib'

/** `node:crypto`, or null on a runtime without it. */
export const nodeCrypto: typeof crypto | null = crypto
/** `node:zlib`, or null on a runtime without it. */
export const nodeZlib: typeof zlib | null = zlib
/** `node:module` (for optional native packages), or null on a runtime without it. */
export const nodeModule: typeof module | null = module
/** `node:net`, or null on a runtime without it. */
export const nodeNet: typeof net | null = net
