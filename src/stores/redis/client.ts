/**
 * The Redis client the store talks to: the part of node-redis it uses, and the client it makes
 * for itself from a URL.
 * @module
 */
import { configError, requireMethods } from '../common/config.js'

/**
 * The part of a node-redis client the store uses: `createClient()` from `redis` or
 * `@redis/client` (v5 or later) fits it.
 */
export interface RedisClientLike {
  /** Whether `connect()` was called and the client not closed since. */
  readonly isOpen: boolean
  /** Whether the client is connected and can send commands. */
  readonly isReady: boolean
  /** Connects; the store calls it for a client that is not open. */
  connect(): Promise<unknown>
  /** Sends one raw command (`['HGET', key, field]`), with a timeout in milliseconds. */
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>
  /** Listens to connection errors, which the store reports as `store_error` events. */
  on(event: 'error', listener: (error: Error) => void): unknown
  /** Listens to the client becoming ready again after a reconnection. */
  on(event: 'ready', listener: () => void): unknown
  /** Closes the connection once pending commands are answered. */
  close(): Promise<unknown>
  /** Closes the connection at once. */
  destroy(): void
}

/** The methods a client must have, checked when the store is made. */
const clientMethods = ['connect', 'sendCommand', 'on', 'close', 'destroy'] as const

/**
 * Checks, when the store is made, how it is to reach Redis; returns the URL of the client it
 * makes (when the app gives none).
 */
export function checkConnection(options: { client?: unknown; url?: unknown }): string {
  if (options.client !== undefined && options.url !== undefined) {
    throw configError('redis', 'give either `client` or `url`, not both')
  }
  if (options.client !== undefined) {
    requireMethods(
      'redis',
      '`client`',
      options.client,
      clientMethods,
      "pass a node-redis v5+ client: createClient({ url }) from 'redis'",
    )
  }
  const url = options.url ?? 'redis://127.0.0.1:6379'
  if (options.client === undefined) checkUrl(url)
  return url as string
}

/** Per-command options that turn node-redis's own command timeout off (0 means none). */
export const noClientTimeout = { timeout: 0 }

/** Escapes glob metacharacters so a prefix matches itself in SCAN MATCH. */
export function glob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** A client the store owns: fails fast while Redis is away and reconnects forever. */
export async function makeClient(url: string, timeout: number): Promise<RedisClientLike> {
  const { createClient } = await import('redis')
  return createClient({
    url,
    // Commands fail at once while disconnected, instead of piling up in an offline queue.
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    socket: {
      connectTimeout: Math.max(timeout, 500),
      // Keep trying, so service resumes without a restart: 50 ms doubling to 1 s, with jitter.
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** Math.min(retries, 10), 1000) + Math.floor(Math.random() * 100),
    },
  })
}

/** Refuses, when the store is made, a URL node-redis would only fail on when it connects. */
function checkUrl(url: unknown): void {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw configError(
      'redis',
      `\`url\` must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}; ` +
        'e.g. redis://127.0.0.1:6379 or rediss://USER:PASSWORD@HOST:6380/0',
    )
  }
  try {
    new URL(url)
  } catch (cause) {
    throw configError(
      'redis',
      `\`url\` ${JSON.stringify(url)} is not a URL; percent-encode special characters in ` +
        'the password: rediss://USER:PASSWORD@HOST:6380/0',
      cause,
    )
  }
}
