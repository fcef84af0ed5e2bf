/**
 * Serving an app on a free loopback port for tests that go over real HTTP.
 * @module
 */
import type { Server } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'

/** A server listening on loopback, with a `fetch` to it. */
export interface Listening {
  url: string
  fetch(path: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
}

/** Starts `server` on a free loopback port. */
export async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
