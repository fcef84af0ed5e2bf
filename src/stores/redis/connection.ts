/**
 * The Redis store's line to Redis: its client (one given by the app, or one it makes from a
 * URL), connected on first use; every command sent to the node that serves its key (one node
 * for a single Redis, the slot's master in a cluster) within the store's timeout; and, when
 * asked, each write held until replicas have it (`WAIT`).
 * @module
 */
import { createCommandTimeout } from '../common/timeout.js'
import {
  isCluster,
  makeClient,
  noClientTimeout,
  type RedisClientLike,
  type RedisLike,
  type RedisTarget,
} from './client.js'
import type { Script } from './scripts.js'

/** Sends one command to one node. */
export type NodeSend = (args: string[]) => Promise<unknown>

/** What the store asks of its connection. */
export interface Connection {
  /** Runs commands issued together (node-redis writes them in one batch), within `timeout`. */
  run<T>(what: string, fn: (c: RedisLike) => Promise<T>): Promise<T>
  /** The client, ready to take commands, or a prompt rejection saying why not. */
  ready(): Promise<RedisLike>
  /** Rejects when `promise` takes longer than the store's timeout. */
  bounded<T>(promise: Promise<T>, what: string): Promise<T>
  /** Sends a command that names `key` to the node that serves it. */
  send(c: RedisLike, key: string, args: string[]): Promise<unknown>
  /** Runs a script by its SHA, loading it (through EVAL) when the node does not know it yet. */
  script(c: RedisLike, s: Script, keys: string[], args: string[]): Promise<unknown>
  /**
   * Resolves once `wait` replicas have every write sent so far to the nodes that serve `keys`;
   * rejects when fewer have it within the wait's timeout. Resolves at once when not asked for.
   */
  durable(c: RedisLike, keys: string[]): Promise<void>
  /** Each master: the one Redis, or every master of a cluster (for SCAN, which sees one node). */
  masters(c: RedisLike): Promise<NodeSend[]>
  close(): Promise<void>
}

/** Replicas a write waits for before it is acknowledged. */
export interface ReplicaWait {
  wait: number
  /** Milliseconds. */
  timeout: number
}

export function createConnection(
  target: RedisTarget,
  timeout: number,
  replicas: ReplicaWait | null,
  onReady: (masters: NodeSend[]) => void,
): Connection {
  const commands = createCommandTimeout('redis', timeout)
  const bounded = <T>(promise: Promise<T>, what: string) => commands.within(what, () => promise)
  const ownsClient = target.kind !== 'client'
  let client: RedisLike | null = target.kind === 'client' ? target.client : null
  let building: Promise<RedisLike> | null = null
  /** Settles when the current connection attempt ends, in success or in error. */
  let attempt: Promise<void> | null = null
  let endAttempt = () => {}
  let lastError: Error | null = null
  let closed = false
  let checked = false

  function watch(c: RedisLike): void {
    // Also keeps an unhandled 'error' event from crashing the process when Redis goes away.
    c.on('error', (error: Error) => {
      lastError = error
      endAttempt()
    })
    // A single client says 'ready' after each (re)connection, a cluster 'connect' once it
    // knows its layout.
    const up = () => {
      lastError = null
      endAttempt()
      if (!checked) {
        checked = true
        // Not from inside node-redis's 'ready' event: a command sent there can break the
        // connection being set up (seen as "Socket closed unexpectedly" on the first request).
        setTimeout(() => masters(c).then(onReady, () => {}), 0).unref()
      }
    }
    if (isCluster(c)) c.on('connect', up)
    else (c as RedisClientLike).on('ready', up)
    // An app's client may be connecting right now: the first calls wait for it.
    if (c.isOpen && !c.isReady) startAttempt()
    else if (c.isReady) up()
  }

  function startAttempt(): void {
    attempt = new Promise((resolve) => {
      endAttempt = resolve
    })
  }

  function connect(c: RedisLike): void {
    startAttempt()
    c.connect().catch((error: unknown) => {
      lastError = error instanceof Error ? error : new Error(String(error))
      endAttempt()
    })
  }

  if (client) {
    watch(client)
  } else if (target.kind !== 'client') {
    building = makeClient(target, timeout).then((c) => {
      client = c
      watch(c)
      if (!closed) connect(c)
      return c
    })
    building.catch(() => {})
  }

  async function ready(): Promise<RedisLike> {
    if (closed) throw new Error('redis store: the store is closed; make a new one')
    const c = client ?? (await bounded(building!, 'connect'))
    if (c.isReady) return c
    // A single client reconnects by itself; a cluster client whose first discovery failed
    // stays closed, so the store tries again (its own client, or an app's never opened).
    if (!c.isOpen && (ownsClient ? isCluster(c) : !attempt)) connect(c)
    // While a connection is being made (and has not failed yet), wait for it.
    if (attempt && lastError === null) {
      await bounded(attempt, 'connect')
      if (c.isReady) return c
    }
    const why = lastError ? `: ${lastError.message}` : ''
    throw new Error(`redis is unreachable${why}`, lastError ? { cause: lastError } : undefined)
  }

  function send(c: RedisLike, key: string, args: string[]): Promise<unknown> {
    // Not node-redis's own timeout (5 s unless the client says otherwise): it costs an
    // AbortSignal.timeout per command and only covers commands not yet written. `run` bounds
    // the whole call instead, so it is turned off here, for the app's own client too.
    if (isCluster(c)) return c.sendCommand(key, false, args, noClientTimeout)
    return c.sendCommand(args, noClientTimeout)
  }

  async function script(c: RedisLike, s: Script, keys: string[], args: string[]) {
    const tail = [String(keys.length), ...keys, ...args]
    try {
      return await send(c, keys[0]!, ['EVALSHA', s.sha, ...tail])
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return send(c, keys[0]!, ['EVAL', s.source, ...tail])
    }
  }

  async function durable(c: RedisLike, keys: string[]): Promise<void> {
    if (replicas === null) return
    // One WAIT per node written to: in a single Redis the first key's, in a cluster each key's
    // (a session and a user index usually live on different masters).
    const targets = isCluster(c) ? [...new Set(keys)] : keys.slice(0, 1)
    const acked = (await Promise.all(
      targets.map((key) => send(c, key, ['WAIT', String(replicas.wait), String(replicas.timeout)])),
    )) as number[]
    const fewest = Math.min(...acked)
    if (fewest < replicas.wait) {
      throw new Error(
        `redis: only ${fewest} of the ${replicas.wait} replicas asked for (\`replicas.wait\`) ` +
          `had the write within ${replicas.timeout} ms; it is not acknowledged`,
      )
    }
  }

  async function masters(c: RedisLike): Promise<NodeSend[]> {
    if (!isCluster(c)) return [(args) => c.sendCommand(args, noClientTimeout)]
    const nodes = await Promise.all(c.masters.map((node) => c.nodeClient(node as never)))
    return nodes.map((node) => (args) => node.sendCommand(args, noClientTimeout))
  }

  return {
    run<T>(what: string, fn: (c: RedisLike) => Promise<T>): Promise<T> {
      // The common case, a ready client, skips a few promise hops: this is every request's path.
      if (client?.isReady && !closed) return bounded(fn(client), what)
      return ready().then((c) => bounded(fn(c), what))
    },
    ready,
    bounded,
    send,
    script,
    durable,
    masters,
    async close() {
      if (closed) return
      closed = true
      if (!ownsClient) return
      const c = client ?? (await building?.catch(() => null))
      if (!c?.isOpen) return
      if (c.isReady) await c.close()
      else c.destroy()
    },
  }
}
