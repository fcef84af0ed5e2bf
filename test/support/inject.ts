/**
 * A `fetch` into a Fastify app through `inject`, so suites written against Fetch run Fastify
 * in-process.
 * @module
 */
import type { FastifyInstance } from 'fastify'

/** A `fetch` into `app` through `inject`, Fastify's in-process request; `close` closes the app. */
export function injector(app: FastifyInstance): {
  fetch(path: string, init?: RequestInit): Promise<Response>
  close(): Promise<void>
} {
  return {
    async fetch(path, init) {
      const request = new Request(`http://localhost${path}`, init)
      const body = request.body ? await request.text() : undefined
      const res = await app.inject({
        method: request.method as 'GET',
        url: path,
        headers: Object.fromEntries(request.headers),
        ...(body === undefined ? {} : { payload: body }),
      })
      const empty = res.statusCode === 204 || res.statusCode === 304
      return new Response(empty ? null : new Uint8Array(res.rawPayload), {
        status: res.statusCode,
        headers: toHeaders(res.headers),
      })
    },
    close: () => app.close(),
  }
}

/** Node's outgoing headers as Fetch `Headers`, each Set-Cookie kept apart. */
function toHeaders(raw: Record<string, string | string[] | number | undefined>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v))
  }
  return headers
}
