/**
 * The Next.js example as it ships: `next build` (against tessera's build in dist/, by its
 * public names), then `next start` on a free port, driven over HTTP as a browser without
 * JavaScript drives it: the login form posts to its Server Action, `/` is a Server Component,
 * `/logout` a Route Handler, and the proxy runs before each of them. Once with cookie sessions,
 * once with SQLite. Telemetry is off and nothing reaches the network.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { untilLine } from '../../test/support/child.js'
import { freePort } from '../../test/support/http.js'
import { describeService } from '../../test/support/services.js'

const root = resolve(import.meta.dirname, '../..')
const example = import.meta.dirname
const next = join(root, 'node_modules/next/dist/bin/next')
const built = existsSync(join(root, 'dist/adapters/next.js'))
const notBuilt = 'no build in dist/; `npm test` makes it first (or run `npm run build`)'
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  SECRET_KEY: 'next-example-secret-32-bytes-long!!',
}

describeService('the Next.js tutorial app', built ? null : notBuilt, () => {
  beforeAll(async () => {
    await run(['build', example], 'next build')
  }, 300_000)

  for (const mode of ['cookie', 'sqlite'] as const) {
    describe(`with ${mode} sessions`, () => {
      let server: { origin: string; stop(): Promise<void> }
      let data = ''

      beforeAll(async () => {
        mkdirSync(join(root, '.data'), { recursive: true })
        data = mkdtempSync(join(root, '.data', 'next-'))
        server = await start(
          mode === 'cookie'
            ? { SESSION_STORE: 'cookie' }
            : { SESSION_STORE: 'sqlite', SESSION_DB: join(data, 'sessions.db') },
        )
      }, 60_000)

      afterAll(async () => {
        await server?.stop()
        if (data) rmSync(data, { recursive: true, force: true })
      })

      it('logs in through the Server Action, greets by escaped name, logs out through the Route Handler', async () => {
        const get = (path: string, cookie = '') =>
          fetch(server.origin + path, { headers: { cookie }, redirect: 'manual' })
        const anonymous = await get('/')
        const form = await (await get('/login')).text()

        const login = await fetch(`${server.origin}/login`, {
          method: 'POST',
          // A browser sends its Origin; Next refuses a Server Action from another one.
          headers: { origin: server.origin },
          body: actionForm(form, { username: '<b>Ada</b>' }),
          redirect: 'manual',
        })
        const cookie = cookieOf(login)
        const home = await (await get('/', cookie)).text()
        const logout = await get('/logout', cookie)
        const after = await (await get('/', cookieOf(logout))).text()

        expect(await anonymous.text()).toContain('You are not logged in')
        expect(anonymous.headers.getSetCookie()).toEqual([])
        expect(login.status).toBe(303)
        expect(login.headers.get('location')).toBe('/')
        expect(login.headers.getSetCookie()[0]).toMatch(
          /^session=[^;]+; Path=\/; HttpOnly; SameSite=lax$/,
        )
        expect(home).toContain('Logged in as &lt;b&gt;Ada&lt;/b&gt;')
        expect(home).not.toContain('<b>')
        expect([302, 303, 307]).toContain(logout.status)
        expect(logout.headers.get('location')).toBe('/')
        expect(logout.headers.getSetCookie().join()).toMatch(/^session=; .*Max-Age=0/)
        expect(after).toContain('You are not logged in')
      })

      it('gives a tampered cookie an anonymous page, not an error', async () => {
        const page = await fetch(`${server.origin}/`, {
          headers: { cookie: 'session=forged.value' },
        })

        expect(page.status).toBe(200)
        expect(await page.text()).toContain('You are not logged in')
      })
    })
  }
})

/** The multipart body a browser without JavaScript posts: the form's hidden fields and ours. */
function actionForm(html: string, fields: Record<string, string>): FormData {
  const body = new FormData()
  const hidden = [...html.matchAll(/<input type="hidden" name="([^"]+)"(?: value="([^"]*)")?/g)]
  expect(hidden.length, 'the login form carries its Server Action').toBeGreaterThan(0)
  for (const [, name, value] of hidden) body.append(name!, value ?? '')
  for (const [name, value] of Object.entries(fields)) body.append(name, value)
  return body
}

function cookieOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
}

/** Runs the Next CLI to the end; rejects with its output when it fails. */
function run(args: string[], what: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [next, ...args], { cwd: root, env, stdio: 'pipe' })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`${what} exited with ${code}:\n${output}`)),
    )
  })
}

async function start(extra: Record<string, string>) {
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    [next, 'start', example, '--port', String(port), '--hostname', '127.0.0.1'],
    { cwd: root, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'inherit'] },
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
