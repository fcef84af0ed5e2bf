/**
 * The stylesheet and icon under `/static/`. They never touch the session: no store call, and
 * they load during a store outage.
 * @module
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** The files, read once, with a validator so browsers revalidate cheaply. */
const staticFiles = new Map<string, { body: Buffer; type: string; etag: string }>(
  (
    [
      ['/static/style.css', 'style.css', 'text/css; charset=utf-8'],
      ['/static/favicon.svg', 'favicon.svg', 'image/svg+xml'],
    ] as const
  ).map(([path, file, type]) => {
    const body = readFileSync(new URL(`./static/${file}`, import.meta.url))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`
    return [path, { body, type, etag }] as const
  }),
)

export function serveStatic(req: IncomingMessage, res: ServerResponse, path: string): void {
  const file = staticFiles.get(path)
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(file ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(file ? 'Method not allowed' : 'Not found')
    return
  }
  const headers = { etag: file.etag, 'cache-control': 'no-cache' }
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  res.writeHead(200, { ...headers, 'content-type': file.type })
  res.end(file.body)
}
