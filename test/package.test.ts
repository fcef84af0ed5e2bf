/**
 * The published package as users load it: every subpath through `import` and `require`, from
 * the build `npm ci` makes (`prepare` runs tsup).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { describeService } from './support/services.js'

const subpaths: Record<string, string[]> = {
  tessera: ['createSessions', 'Session', 'StoreError', 'flash', 'csrfInput', 'createNativeCodec'],
  'tessera/flask': ['createFlaskCodec', 'Tuple', 'Markup', 'UUID'],
  'tessera/testing': ['sessionCookie', 'readSession', 'sessionTransaction'],
  'tessera/stores/memory': ['createMemoryStore'],
  'tessera/stores/file': ['createFileStore'],
  'tessera/stores/sqlite': ['createSqliteStore'],
  'tessera/stores/redis': ['createRedisStore'],
  'tessera/stores/postgres': ['createPostgresStore'],
  'tessera/stores/connect': ['createConnectStore'],
  'tessera/adapters/node': ['withSession', 'attachSession'],
  'tessera/adapters/fetch': ['withSession'],
  'tessera/adapters/express': ['session', 'sessionErrors', 'csrf'],
  'tessera/adapters/fastify': ['fastifySession', 'csrf'],
  'tessera/adapters/hono': ['session', 'csrf'],
  'tessera/adapters/koa': ['session', 'csrf'],
}

/** The export names of every subpath, loaded one way, in one child process. */
function exportsOf(kind: 'import' | 'require'): Record<string, string[]> {
  const specifiers = JSON.stringify(Object.keys(subpaths))
  const script =
    kind === 'import'
      ? `Promise.all(${specifiers}.map((s) => import(s).then((m) => [s, Object.keys(m)])))
           .then((pairs) => console.log(JSON.stringify(Object.fromEntries(pairs))))`
      : `console.log(JSON.stringify(Object.fromEntries(${specifiers}.map((s) => [s, Object.keys(require(s))]))))`
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  return JSON.parse(out) as Record<string, string[]>
}

const built = existsSync('dist/index.js') && existsSync('dist/index.cjs')

describeService(
  'the built package',
  built ? null : 'no build in dist/; `npm ci` (or `npm run build`) makes it',
  () => {
    for (const kind of ['import', 'require'] as const) {
      it(`exports what each subpath promises, to ${kind}`, () => {
        const found = exportsOf(kind)

        for (const [specifier, names] of Object.entries(subpaths)) {
          expect(found[specifier], specifier).toEqual(expect.arrayContaining(names))
        }
      })
    }

    it('declares none of the internals (drafts, engines, the session handle) to users', () => {
      const internal =
        /\b(Draft|Engine|EngineContext|StoreEngine|internals|rotatedKeys|needsLoad|deferLoadError|onSave|SessionState|stateOf|settle)\b/
      const declarations = readdirSync('dist', { recursive: true, encoding: 'utf8' }).filter((f) =>
        /\.d\.c?ts$/.test(f),
      )
      const leaks: string[] = []
      for (const file of declarations) {
        // Comments may mention the design; only declarations count.
        const code = readFileSync(join('dist', file), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\/\/.*$/gm, '')
        for (const [i, line] of code.split('\n').entries()) {
          const found = internal.exec(line)
          if (found) leaks.push(`${file}:${i + 1}: ${found[1]} in ${line.trim()}`)
        }
      }

      expect(declarations.length).toBeGreaterThan(10)
      expect(leaks).toEqual([])
    })

    it('shares one Session class between the core and the adapters (one copy of the core)', () => {
      const script = `
      const { createSessions, Session } = require('tessera')
      const { withSession } = require('tessera/adapters/fetch')
      const sessions = createSessions({ secret: 'x'.repeat(32) })
      withSession(sessions, (req, s) => { console.log(s instanceof Session); return new Response('') })(new Request('http://x/'))`
      const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
      expect(out.trim()).toBe('true')
    })
  },
)
