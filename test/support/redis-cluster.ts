/**
 * A local Redis Cluster of six redis-server processes on loopback: three masters, each with one
 * replica, made by `redis-cli --cluster create`. Its ports are picked at random in a range
 * nothing else here uses (21001–21996, cluster bus +10000) and checked free, so two runs never
 * meet. `startRedisCluster` returns once every node says `cluster_state:ok`, all 16384 slots are
 * served and every replica is in sync, so the suites start on a whole cluster.
 * @module
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Null when redis-server and redis-cli can make a cluster here, else a one-line reason. */
export function redisClusterAvailable(): string | null {
  for (const tool of ['redis-server', 'redis-cli']) {
    if (spawnSync(tool, ['--version']).error) {
      return `${tool} is not on PATH, so no local Redis Cluster can be made (apt-get install redis-server redis-tools)`
    }
  }
  return null
}

export class LocalRedisCluster {
  readonly #children = new Map<number, ChildProcess>()
  #nodeTimeout = 1000

  private constructor(
    readonly ports: readonly number[],
    readonly dir: string,
  ) {}

  /** `redis-cluster://127.0.0.1:P1,...`: the URL form the store and `SESSION_STORE` take. */
  get url(): string {
    return `redis-cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`
  }

  /**
   * Starts and joins the six nodes. `nodeTimeout` (ms) is how long a silent master has before
   * its replica takes over (plus about a second of election).
   */
  static async start(options: { nodeTimeout?: number } = {}): Promise<LocalRedisCluster> {
    const cluster = await LocalRedisCluster.reserve()
    await cluster.join(options)
    return cluster
  }

  /** Picks the ports and the folder; `join` starts the nodes on them. */
  static async reserve(): Promise<LocalRedisCluster> {
    return new LocalRedisCluster(await freeRange(), mkdtempSync(join(tmpdir(), 'tessera-cluster-')))
  }

  /** Starts the six nodes and makes them one cluster; stops them all when that fails. */
  async join(options: { nodeTimeout?: number } = {}): Promise<void> {
    const ports = this.ports
    this.#nodeTimeout = options.nodeTimeout ?? 1000
    try {
      await Promise.all(ports.map((port) => this.#spawn(port)))
      await run('redis-cli', [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ])
      await this.waitHealthy(20_000)
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  /** Resolves once every live node serves all slots and every live replica is in sync. */
  waitHealthy(ms: number): Promise<void> {
    return waitHealthy(this.#live(), ms)
  }

  /** Ports of the nodes that are masters now, by the first live node's view. */
  async masters(): Promise<number[]> {
    const nodes = await this.#nodes()
    return nodes
      .filter((n) => n.flags.includes('master') && !n.flags.includes('fail'))
      .map((n) => n.port)
  }

  /** The port of the master that serves `key` now. */
  async masterOf(key: string): Promise<number> {
    const slot = Number(await this.cli(this.#live()[0]!, 'CLUSTER', 'KEYSLOT', key))
    const nodes = await this.#nodes()
    const owner = nodes.find(
      (n) =>
        n.flags.includes('master') &&
        !n.flags.includes('fail') &&
        n.slots.some(([a, b]) => slot >= a && slot <= b),
    )
    if (!owner) throw new Error(`no master serves slot ${slot}`)
    return owner.port
  }

  /** Kills one node with SIGKILL, as a crash would. */
  async kill(port: number): Promise<void> {
    const child = this.#children.get(port)
    this.#children.delete(port)
    if (!child || child.exitCode !== null) return
    child.kill('SIGKILL')
    await once(child, 'exit')
  }

  /**
   * Starts a killed node again, with the cluster's view it kept on disk, as a supervisor
   * would: a master that was replaced comes back as a replica of the node that took over.
   */
  restart(port: number): Promise<void> {
    return this.#spawn(port)
  }

  /** Runs one command on one node; its reply as text, trimmed. Rejects on an error reply. */
  cli(port: number, ...args: string[]): Promise<string> {
    return command(port, args)
  }

  /** Kills every node and removes the folder. */
  async stop(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((port) => this.kill(port)))
    rmSync(this.dir, { recursive: true, force: true })
  }

  async #spawn(port: number): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        String(this.#nodeTimeout),
        // Replicas sync at once instead of after the default 5 s wait for more replicas.
        '--repl-diskless-sync-delay',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    )
    child.on('error', () => {})
    this.#children.set(port, child)
    const deadline = Date.now() + 5000
    while ((await this.cli(port, 'PING').catch(() => '')) !== 'PONG') {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server did not start on port ${port}`)
      }
      await sleep(25)
    }
  }

  #live(): number[] {
    return this.ports.filter((p) => this.#children.has(p))
  }

  async #nodes() {
    const text = await this.cli(this.#live()[0]!, 'CLUSTER', 'NODES')
    return text.split('\n').map((line) => {
      const [, address = '', flags = '', , , , , , ...slots] = line.split(' ')
      return {
        port: Number(address.split('@')[0]!.split(':')[1]),
        flags: flags.split(','),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => s.split('-').map(Number) as [number, number?])
          .map(([a, b]) => [a, b ?? a] as [number, number]),
      }
    })
  }
}

/** Resolves once the nodes on `ports` serve all slots and every replica among them is in sync. */
export async function waitHealthy(ports: readonly number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const problem = await problemOf(ports)
    if (problem === null) return
    if (Date.now() > deadline) throw new Error(`the Redis Cluster is not whole: ${problem}`)
    await sleep(50)
  }
}

/** The ports of a `redis-cluster://` URL. */
export function portsOf(url: string): number[] {
  return url
    .slice(url.indexOf('//') + 2)
    .split(',')
    .map((node) => Number(node.split(':').at(-1)))
}

/** What keeps the cluster from being whole, or null. */
async function problemOf(ports: readonly number[]): Promise<string | null> {
  for (const port of ports) {
    const info = await command(port, ['CLUSTER', 'INFO']).catch((e: Error) => e.message)
    if (!info.includes('cluster_state:ok')) return `node ${port}: not cluster_state:ok`
    if (!info.includes('cluster_slots_ok:16384')) return `node ${port}: not every slot is served`
    const replication = await command(port, ['INFO', 'replication'])
    if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) {
      return `replica ${port}: not in sync with its master`
    }
  }
  return null
}

/** Six free ports, consecutive, whose bus ports (+10000) are free too. */
async function freeRange(): Promise<number[]> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 21000 + 10 * Math.floor(Math.random() * 100)
    const ports = [1, 2, 3, 4, 5, 6].map((i) => base + i)
    const all = [...ports, ...ports.map((p) => p + 10000)]
    if ((await Promise.all(all.map(isFree))).every(Boolean)) return ports
  }
  throw new Error('no six free ports (and their bus ports) between 21001 and 21996')
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * One command over a fresh connection, in RESP, without a client library: enough for the
 * simple, integer and bulk-string replies the helper reads, and much quicker than a redis-cli
 * process per poll.
 */
function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    let buffer = Buffer.alloc(0)
    const done = (error: Error | null, text = '') => {
      socket.destroy()
      if (error) reject(error)
      else resolve(text.trim())
    }
    socket.setTimeout(2000, () => done(new Error(`node ${port}: no answer`)))
    socket.once('error', (error) => done(error))
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      const end = buffer.indexOf('\r\n')
      if (end === -1) return
      const head = buffer.subarray(1, end).toString()
      const kind = String.fromCharCode(buffer[0]!)
      if (kind === '-') return done(new Error(head))
      if (kind !== '$') return done(null, head)
      const length = Number(head)
      if (length < 0) return done(null, '')
      if (buffer.length >= end + 2 + length)
        done(null, buffer.subarray(end + 2, end + 2 + length).toString())
    })
    socket.connect(port, '127.0.0.1', () => {
      const parts = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`)
      socket.write(`*${args.length}\r\n${parts.join('')}`)
    })
  })
}
