/**
 * What the edge build has in place of `runtime.ts`: no Node module at all. Web Crypto and the
 * JavaScript fallbacks do the work there.
 * @module
 */
import type * as crypto from 'node:crypto'
import type * as module from 'node:module'
import type * as net from 'node:net'
import type * as zlib from 'node:zlib'

/** `node:crypto`: absent from the edge build. */
export const nodeCrypto: typeof crypto | null = null
/** `node:zlib`: absent from the edge build. */
export const nodeZlib: typeof zlib | null = null
/** `node:module`: absent from the edge build. */
export const nodeModule: typeof module | null = null
/** `node:net`: absent from the edge build. */
export const nodeNet: typeof net | null = null
