/**
 * The Edge variant of the Next.js example, built for real: a copy of the app (under `.data/`,
 * inside the repository, so `tessera` resolves to this package by its own name) with
 * `edge/middleware.ts` at its root in place of `proxy.ts`, built by `next build`, served by
 * `next start` with cookie sessions. Next puts the middleware on the Edge runtime and bundles it
 * with the export conditions of an edge runtime, so this shows that tessera's edge build is
 * what the middleware gets and that it runs there: it reads the cookie the app's Node.js side
 * wrote, slides a permanent cookie's expiry, and the page rendered after it sees its cookie.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  actionForm,
  cookieOf,
  type NextServer,
  nextBuild,
  nextStart,
} from '../../test/support/next.js'
import { describeService } from '../../test/support/services.js'

const root = resolve(import.meta.dirname, '../..')
const example = import.meta.dirname
const built = existsSync(join(root, 'dist/edge/adapters/next.js'))
const notBuilt = 'no edge build in dist/edge; `npm test` makes it first (or run `npm run build`)'

/** What Next records of an Edge middleware (`.next/server/middleware-manifest.json`). */
interface MiddlewareManifest {
  middleware: Record<string, { files: string[]; name: string; env?: Record<string, string> }>
}

describeService(
  'the Next.js tutorial app with its middleware on the Edge runtime',
  built ? null : notBuilt,
  () => {
    let app = ''
    let server: NextServer | undefined

    beforeAll(async () => {
      mkdirSync(join(root, '.data'), { recursive: true })
      app = mkdtempSync(join(root, '.data', 'next-edge-'))
      for (const part of ['app', 'lib', 'next.config.ts', 'next-env.d.ts', 'tsconfig.json']) {
        cpSync(join(example, part), join(app, part), { recursive: true })
      }
      cpSync(join(example, 'edge/middleware.ts'), join(app, 'middleware.ts'))
      await nextBuild(app)
      server = await nextStart(app, { SESSION_STORE: 'cookie' })
    }, 300_000)

    afterAll(async () => {
      await server?.stop()
      if (app) rmSync(app, { recursive: true, force: true })
    })

    it('builds the middleware for the Edge runtime, from tessera’s edge build', () => {
      const manifest = JSON.parse(
        readFileSync(join(app, '.next/server/middleware-manifest.json'), 'utf8'),
      ) as MiddlewareManifest
      const middleware = manifest.middleware['/']
      // The bundle's source maps name the files it was made of; tessera's are under dist/.
      const sources = (middleware?.files ?? []).flatMap((file) =>
        sourcesOf(join(app, '.next', `${file}.map`)),
      )
      const tessera = sources
        .filter((source) => /(^|\/)dist\//.test(source) && !source.includes('node_modules'))
        .map((source) => source.slice(source.lastIndexOf('dist/')))

      // An Edge middleware is listed here; a Node.js one (proxy.ts) is not.
      expect(middleware?.name).toBe('middleware')
      expect(tessera).toEqual(
        expect.arrayContaining(['dist/edge/index.js', 'dist/edge/adapters/next.js']),
      )
      expect(tessera.filter((file) => !file.startsWith('dist/edge/'))).toEqual([])
    })

    it('logs in on Node.js, then the Edge middleware reads the cookie, slides it, and logs out', async () => {
      const origin = server!.origin
      const get = (path: string, cookie = '') =>
        fetch(origin + path, { headers: { cookie }, redirect: 'manual' })
      const form = await (await get('/login')).text()
      const login = await fetch(`${origin}/login`, {
        method: 'POST',
        headers: { origin },
        body: actionForm(form, { username: 'Ada' }),
        redirect: 'manual',
      })
      const fromNode = cookieOf(login)

      // The first page after login: the middleware makes the session permanent.
      const first = await get('/', fromNode)
      const firstExpires = expiresOf(first)
      // Expires has whole seconds: a second later, the refresh must move it.
      await sleep(1100)
      const second = await get('/', cookieOf(first))
      const secondExpires = expiresOf(second)
      const logout = await get('/logout', cookieOf(second))
      const after = await get('/', cookieOf(logout))

      expect(login.status).toBe(303)
      // The Server Action (Node.js) wrote a browser-session cookie …
      expect(login.headers.getSetCookie()[0]).toMatch(
        /^session=[^;]+; Path=\/; HttpOnly; SameSite=lax$/,
      )
      // … which the middleware (Edge) read, made permanent, and the render saw at once.
      expect(await first.text()).toContain('Logged in as Ada')
      expect(firstExpires).toBeGreaterThan(Date.now() + 30 * 86_400_000)
      // A page request that changed nothing re-issued the cookie with a later expiry.
      expect(await second.text()).toContain('Logged in as Ada')
      expect(secondExpires).toBeGreaterThan(firstExpires)
      expect(cookieOf(second)).not.toBe(cookieOf(first))
      // The Route Handler's deletion is the last word on the cookie.
      expect([302, 303, 307]).toContain(logout.status)
      expect(logout.headers.getSetCookie().at(-1)).toMatch(/^session=; .*Max-Age=0/)
      expect(await after.text()).toContain('You are not logged in')
    })

    it('gives a tampered cookie an anonymous page, not an error', async () => {
      const page = await fetch(`${server!.origin}/`, {
        headers: { cookie: 'session=forged.value' },
      })

      expect(page.status).toBe(200)
      expect(await page.text()).toContain('You are not logged in')
    })
  },
)

/** The files a source map was made from (a plain map, or an index map of sections). */
function sourcesOf(file: string): string[] {
  if (!existsSync(file)) return []
  const map = JSON.parse(readFileSync(file, 'utf8')) as SourceMap
  return [...(map.sources ?? []), ...(map.sections ?? []).flatMap((s) => s.map.sources ?? [])]
}

interface SourceMap {
  sources?: string[]
  sections?: { map: { sources?: string[] } }[]
}

/** The Expires of the session cookie a response set, in ms; fails when it set none. */
function expiresOf(response: Response): number {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('session='))
  const expires = cookie && /; Expires=([^;]+)/i.exec(cookie)?.[1]
  expect(expires, `a permanent session cookie in ${response.headers.getSetCookie()}`).toBeTruthy()
  return Date.parse(expires!)
}
