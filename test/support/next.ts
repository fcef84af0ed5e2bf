/**
 * Building and serving a Next.js app for the tests: `next build` and `next start` from the
 * repository's `next`, telemetry off, and the few steps a client without JavaScript takes
 * (posting a form to its Server Action, carrying the cookies it was given).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { expect } from 'vitest'
import { untilLine } from './child.js'
import { freePort } from './http.js'

const root = resolve(import.meta.dirname, '../..')
const next = join(root, 'node_modules/next/dist/bin/next')

/** The environment every Next process gets: no telemetry, and the app's secret. */
export const nextEnv = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  SECRET_KEY: 'next-example-secret-32-bytes-long!!',
}

/** `next build <dir>` to the end; rejects with its output when it fails. */
export function nextBuild(dir: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [next, 'build', dir], {
      cwd: root,
      env: nextEnv,
      stdio: 'pipe',
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`next build exited with ${code}:\n${output}`)),
    )
  })
}

/** A running `next start`. */
export interface NextServer {
  origin: string
  stop(): Promise<void>
}

/** `next start <dir>` on a free loopback port, with `extra` in its environment. */
export async function nextStart(dir: string, extra: Record<string, string>): Promise<NextServer> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    [next, 'start', dir, '--port', String(port), '--hostname', '127.0.0.1'],
    { cwd: root, env: { ...nextEnv, ...extra }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await untilLine(child, /Ready in/)
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done()
        child.once('exit', () => done())
        child.kill('SIGTERM')
      }),
  }
}

/** The multipart body a browser without JavaScript posts: the form's hidden fields and ours. */
export function actionForm(html: string, fields: Record<string, string>): FormData {
  const body = new FormData()
  const hidden = [...html.matchAll(/<input type="hidden" name="([^"]+)"(?: value="([^"]*)")?/g)]
  expect(hidden.length, 'the login form carries its Server Action').toBeGreaterThan(0)
  for (const [, name, value] of hidden) body.append(name!, value ?? '')
  for (const [name, value] of Object.entries(fields)) body.append(name, value)
  return body
}

/**
 * The `Cookie` header a browser sends after `response`, as its jar keeps what the response
 * set: the last value of each name, and none for a cookie set empty or expired (a deletion).
 */
export function cookieOf(response: Response): string {
  const jar = new Map<string, string>()
  for (const line of response.headers.getSetCookie()) {
    const [pair = '', ...attributes] = line.split(';')
    const name = pair.slice(0, pair.indexOf('='))
    const value = pair.slice(pair.indexOf('=') + 1)
    const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
    if (value === '' || expired) jar.delete(name)
    else jar.set(name, value)
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}
