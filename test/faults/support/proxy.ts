/**
 * A TCP proxy between a store's client and its server that injects network faults: it passes
 * bytes through, delays them (in order) by a fixed latency, or resets every connection.
 * @module
 */
import { type AddressInfo, createServer, type Server, Socket } from 'node:net'

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'reset' }

export class FaultProxy {
  #mode: ProxyMode = { kind: 'pass' }
  readonly #sockets = new Set<Socket>()

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  /** Starts a proxy on a free loopback port in front of `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | null = null
    const server = createServer((client) => proxy!.accept(client, targetPort))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port)
    return proxy
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Switches the fault; `reset` also resets every open connection at once. */
  set(mode: ProxyMode): void {
    this.#mode = mode
    if (mode.kind === 'reset') for (const socket of this.#sockets) socket.resetAndDestroy()
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.#mode.kind === 'reset') {
      client.resetAndDestroy()
      return
    }
    const upstream = new Socket()
    this.#track(client)
    this.#track(upstream)
    upstream.connect(targetPort, '127.0.0.1')
    this.#forward(client, upstream)
    this.#forward(upstream, client)
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => this.#sockets.delete(socket))
  }

  /** Copies `from` to `to`, each chunk after the latency in force when it arrived, in order. */
  #forward(from: Socket, to: Socket): void {
    let releaseAt = 0
    from.on('data', (chunk) => {
      const delay = this.#mode.kind === 'delay' ? this.#mode.ms : 0
      releaseAt = Math.max(Date.now() + delay, releaseAt)
      const wait = releaseAt - Date.now()
      if (wait <= 0) to.write(chunk)
      else setTimeout(() => to.destroyed || to.write(chunk), wait)
    })
    from.once('close', () => to.destroy())
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
