/**
 * The Redis clients the store talks to: the part of node-redis it uses, for one Redis and for a
 * Redis Cluster, and the client it makes for itself from a URL.
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

/** One node of a cluster, as node-redis lists it; the store only hands it back to `nodeClient`. */
export interface RedisClusterNode {
  readonly address: string
}

/**
 * The part of a node-redis cluster client the store uses: `createCluster()` from `redis` or
 * `@redis/client` (v5 or later) fits it. It routes each command by the key it names.
 */
export interface RedisClusterLike {
  /** Whether `connect()` was called and the client not closed since. */
  readonly isOpen: boolean
  /** Whether the client knows the cluster's layout and can send commands. */
  readonly isReady: boolean
  /** The masters, for the commands that must reach every one (`SCAN`, `CONFIG GET`). */
  readonly masters: readonly RedisClusterNode[]
  /** Connects to the root nodes and reads the cluster's layout. */
  connect(): Promise<unknown>
  /**
   * Sends one raw command to the node serving `firstKey` (any node when it is undefined), with
   * a timeout in milliseconds.
   */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: { timeout?: number },
  ): Promise<unknown>
  /** A client of one node (a master of `masters`), for the commands sent to each master. */
  nodeClient(node: never): Promise<Pick<RedisClientLike, 'sendCommand'>>
  /** Listens to connection errors, which the store reports as `store_error` events. */
  on(event: 'error', listener: (error: Error) => void): unknown
  /** Listens to the cluster client connecting, to check the masters' eviction policy. */
  on(event: 'connect', listener: () => void): unknown
  /** Closes the connections once pending commands are answered. */
  close(): Promise<unknown>
  /** Closes the connections at once. */
  destroy(): void
}

/** Either client. */
export type RedisLike = RedisClientLike | RedisClusterLike

/** True for a cluster client: it routes by key and has a list of masters. */
export function isCluster(client: RedisLike): client is RedisClusterLike {
  return 'masters' in client && typeof (client as RedisClusterLike).nodeClient === 'function'
}

/** The methods a client must have, checked when the store is made. */
const clientMethods = ['connect', 'sendCommand', 'on', 'close', 'destroy'] as const

/** How the store reaches Redis, read from its options when it is made. */
export type RedisTarget =
  | { kind: 'client'; client: RedisLike }
  | { kind: 'url'; url: string }
  | { kind: 'cluster'; nodes: ClusterNodeUrl[]; username?: string; password?: string }

/** A root node of a `redis-cluster://` URL. */
export interface ClusterNodeUrl {
  host: string
  port: number
  tls: boolean
}

/** Checks, when the store is made, how it is to reach Redis. */
export function checkConnection(options: { client?: unknown; url?: unknown }): RedisTarget {
  if (options.client !== undefined && options.url !== undefined) {
    throw configError('redis', 'give either `client` or `url`, not both')
  }
  if (options.client !== undefined) {
    requireMethods(
      'redis',
      '`client`',
      options.client,
      clientMethods,
      "pass a node-redis v5+ client: createClient({ url }) or createCluster({ rootNodes }) from 'redis'",
    )
    return { kind: 'client', client: options.client as RedisLike }
  }
  const url = options.url ?? 'redis://127.0.0.1:6379'
  if (typeof url === 'string' && /^rediss?-cluster:\/\//.test(url)) return parseClusterUrl(url)
  checkUrl(url)
  return { kind: 'url', url: url as string }
}

/** Per-command options that turn node-redis's own command timeout off (0 means none). */
export const noClientTimeout = { timeout: 0 }

/** Escapes glob metacharacters so a prefix matches itself in SCAN MATCH. */
export function glob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** Keep trying, so service resumes without a restart: 50 ms doubling to 1 s, with jitter. */
function reconnectStrategy(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), 1000) + Math.floor(Math.random() * 100)
}

/** A client the store owns: fails fast while Redis is away and reconnects forever. */
export async function makeClient(
  target: Exclude<RedisTarget, { kind: 'client' }>,
  timeout: number,
): Promise<RedisLike> {
  const socket = { connectTimeout: Math.max(timeout, 500), reconnectStrategy }
  if (target.kind === 'url') {
    const { createClient } = await import('redis')
    return createClient({
      url: target.url,
      // Commands fail at once while disconnected, instead of piling up in an offline queue.
      disableOfflineQueue: true,
      commandsQueueMaxLength: 10_000,
      socket,
    })
  }
  const { createCluster } = await import('redis')
  const credentials = {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  }
  return createCluster({
    rootNodes: target.nodes.map(({ host, port, tls }) => ({
      socket: tls ? { host, port, tls: true as const } : { host, port },
    })),
    defaults: {
      ...credentials,
      disableOfflineQueue: true,
      commandsQueueMaxLength: 10_000,
      socket: { ...socket, ...(target.nodes[0]?.tls ? { tls: true as const } : {}) },
    },
    // While a node reconnects (a master died), ask the cluster who serves its slots every
    // half second, so requests reach the promoted replica soon after the failover.
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  }) as unknown as RedisClusterLike
}

/**
 * Reads `redis-cluster://[USER:PASSWORD@]HOST:PORT,HOST:PORT,...` (`rediss-cluster://` for
 * TLS): the root nodes the client asks for the cluster's layout. One node is enough; more
 * keep the start-up working while one of them is down.
 */
function parseClusterUrl(url: string): RedisTarget {
  const tls = url.startsWith('rediss-')
  const rest = url.slice(url.indexOf('//') + 2).replace(/\/$/, '')
  const at = rest.lastIndexOf('@')
  const hosts = at === -1 ? rest : rest.slice(at + 1)
  const nodes: ClusterNodeUrl[] = []
  for (const part of hosts.split(',')) {
    const match = /^(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/.exec(part.trim())
    const port = Number(match?.[2])
    if (!match || !(port > 0 && port < 65536)) {
      throw configError(
        'redis',
        `\`url\` ${JSON.stringify(redactCredentials(url))} names no node at "${part}"; ` +
          'write redis-cluster://HOST:PORT,HOST:PORT,... (each node with its port)',
      )
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port, tls })
  }
  const target: RedisTarget = { kind: 'cluster', nodes }
  if (at !== -1) {
    const userinfo = rest.slice(0, at)
    const colon = userinfo.indexOf(':')
    const user = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon))
    if (colon !== -1) target.password = decodeURIComponent(userinfo.slice(colon + 1))
    if (user !== '') target.username = user
  }
  return target
}

function redactCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

/** Refuses, when the store is made, a URL node-redis would only fail on when it connects. */
function checkUrl(url: unknown): void {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw configError(
      'redis',
      `\`url\` must be a redis://, rediss:// or redis-cluster:// URL, got ${JSON.stringify(url)}; ` +
        'e.g. redis://127.0.0.1:6379, rediss://USER:PASSWORD@HOST:6380/0 or ' +
        'redis-cluster://10.0.0.1:6379,10.0.0.2:6379',
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
