/**
 * The published package as users load it: every subpath through `import` and `require`, from
 * the build in dist/ (`npm test` builds it first, in `pretest`), then from the tarball
 * `npm pack` makes: installed into a fresh project, type-checked there from CommonJS and ESM,
 * and checked by @arethetypeswrong/cli.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeService } from './support/services.js'

const subpaths: Record<string, string[]> = {
  tessera: ['createSessions', 'Session', 'StoreError', 'flash', 'csrfInput', 'createNativeCodec'],
  'tessera/flask': ['createFlaskCodec', 'Tuple', 'Markup', 'UUID'],
  'tessera/testing': ['sessionCookie', 'readSession', 'sessionTransaction'],
  'tessera/url': ['openStore', 'parseStoreUrl', 'storeUrlForms'],
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
  'tessera/adapters/next': ['getSession', 'readSession', 'sessionProxy'],
}

/** The export names of every subpath, loaded one way, in one child process (in `cwd`). */
function exportsOf(kind: 'import' | 'require', cwd = process.cwd()): Record<string, string[]> {
  const specifiers = JSON.stringify(Object.keys(subpaths))
  const script =
    kind === 'import'
      ? `Promise.all(${specifiers}.map((s) => import(s).then((m) => [s, Object.keys(m)])))
           .then((pairs) => console.log(JSON.stringify(Object.fromEntries(pairs))))`
      : `console.log(JSON.stringify(Object.fromEntries(${specifiers}.map((s) => [s, Object.keys(require(s))]))))`
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd })
  return JSON.parse(out) as Record<string, string[]>
}

/** The entries of the edge build, and the export conditions that lead there. */
const edgeEntries = ['index', 'flask', 'adapters/fetch', 'adapters/hono', 'adapters/next']
const edgeConditions = ['workerd', 'edge-light', 'worker', 'browser']

const built = existsSync('dist/index.js') && existsSync('dist/index.cjs')
const notBuilt = 'no build in dist/; `npm test` makes it first (or run `npm run build`)'
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, unknown>
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
}

describeService('the built package', built ? null : notBuilt, () => {
  it('exports exactly the subpaths above, each with declarations for import and require', () => {
    const subpathOf = (specifier: string) => specifier.replace(/^tessera/, '.')

    expect(Object.keys(pkg.exports).sort()).toEqual(
      [...Object.keys(subpaths).map(subpathOf), './package.json'].sort(),
    )
    for (const specifier of Object.keys(subpaths)) {
      const file = specifier === 'tessera' ? 'index' : specifier.slice('tessera/'.length)
      // The entries an edge runtime can run send its conditions to the edge build, first.
      const edge = edgeEntries.includes(file)
        ? Object.fromEntries(
            edgeConditions.map((c) => [
              c,
              { types: `./dist/${file}.d.ts`, default: `./dist/edge/${file}.js` },
            ]),
          )
        : {}
      expect(pkg.exports[subpathOf(specifier)], specifier).toEqual({
        ...edge,
        import: { types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` },
        require: { types: `./dist/${file}.d.cts`, default: `./dist/${file}.cjs` },
      })
      expect(Object.keys(pkg.exports[subpathOf(specifier)] as object).slice(0, -2)).toEqual(
        Object.keys(edge),
      )
    }
  })

  it('builds every edge entry into dist/edge with no node: import in any of its files', () => {
    const files = readdirSync('dist/edge', { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.js'),
    )
    // A static import, a bare one, a dynamic one or a require: an edge bundler refuses each.
    const nodeImport = /(?:from|import)\s*\(?\s*["']node:[a-z_/]+["']|require\(\s*["']node:/
    const offenders = files.filter((f) =>
      nodeImport.test(readFileSync(join('dist/edge', f), 'utf8')),
    )

    expect(files).toEqual(expect.arrayContaining(edgeEntries.map((entry) => `${entry}.js`)))
    expect(offenders).toEqual([])
  })

  it('publishes the URL opener as tessera/url, not as a store', () => {
    const script = `import('tessera/stores/url').then(() => console.log('found'), (e) => console.log(e.code))`
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })

    expect(out.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED')
  })

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
})

/** @arethetypeswrong/cli's command, from the package's own devDependency; undefined if absent. */
function findAttw(): string | undefined {
  try {
    const manifest = createRequire(resolve('package.json')).resolve(
      '@arethetypeswrong/cli/package.json',
    )
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { attw: string } }
    return join(dirname(manifest), bin.attw)
  } catch {
    return undefined
  }
}

/**
 * A fresh project with the tarball in its node_modules, as `npm install <tarball>` leaves it.
 * The tarball is unpacked rather than installed, so the test needs neither the network nor the
 * npm cache; its dependencies, the optional peers and their @types are linked from the
 * repository's node_modules (a user installs the peers they use).
 */
function installTarball(tarball: string, app: string): void {
  const target = join(app, 'node_modules', 'tessera')
  mkdirSync(target, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'])
  const peers = Object.keys(pkg.peerDependencies)
  const linked = [
    ...Object.keys(pkg.dependencies),
    ...peers,
    '@types/node',
    ...peers.map((name) => `@types/${name}`),
  ]
  for (const name of linked) {
    const from = resolve('node_modules', name)
    if (!existsSync(from)) continue // the peer ships its own types
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true })
    symlinkSync(from, join(app, 'node_modules', name), 'dir')
  }
  writeFileSync(join(app, 'package.json'), '{ "name": "an-app", "private": true }\n')
}

const run = promisify(execFile)

/**
 * Type-checks `files` (from test/types/apps) in a project of their own under `app`: strict,
 * `module: node16`. Resolves to tsc's diagnostics in the app's files or tessera's declarations
 * (other packages' declarations, a framework's @types, are not this package's to fix), and all
 * of its output.
 */
async function typecheck(
  app: string,
  name: string,
  files: string[],
  options: { type?: 'module' | 'commonjs'; skipLibCheck?: boolean; types?: string[] } = {},
): Promise<{ ours: string[]; output: string; ok: boolean }> {
  const project = join(app, name)
  mkdirSync(project, { recursive: true })
  writeFileSync(join(project, 'package.json'), `{ "type": "${options.type ?? 'module'}" }\n`)
  for (const file of files)
    copyFileSync(join('test/types/apps', file), join(project, basename(file)))
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        // Absent: every package under node_modules/@types is loaded, as in a project of tsc --init.
        ...(options.types && { types: options.types }),
        skipLibCheck: options.skipLibCheck ?? false,
        noEmit: true,
      },
      files: files.map((file) => basename(file)),
    }),
  )
  const tsc = resolve('node_modules/typescript/bin/tsc')
  const output = await run(process.execPath, [tsc, '-p', project, '--pretty', 'false'], {
    cwd: project,
  }).then(
    ({ stdout, stderr }) => stdout + stderr,
    (error: { stdout?: string; stderr?: string }) => (error.stdout ?? '') + (error.stderr ?? ''),
  )
  const ownFiles = files.map((file) => basename(file).replace(/\./g, '\\.')).join('|')
  const ours = output
    .split('\n')
    .filter((line) => new RegExp(`^((${ownFiles})\\(|\\.\\./node_modules/tessera/)`).test(line))
  return { ours, output, ok: !/error TS\d+/.test(output) }
}

describeService('the packed package', built ? null : notBuilt, () => {
  let dir = ''
  let tarball = ''
  let app = ''

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-pack-'))
    // dist/ is already built (pretest); --ignore-scripts skips prepack's second build.
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
        encoding: 'utf8',
      }),
    ) as [{ filename: string }]
    tarball = join(dir, packed.filename)
    app = join(dir, 'app')
    installTarball(tarball, app)
  }, 60_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  for (const kind of ['import', 'require'] as const) {
    it(`installs into a fresh project, where every subpath loads through ${kind}`, () => {
      const found = exportsOf(kind, app)

      for (const [specifier, names] of Object.entries(subpaths)) {
        expect(found[specifier], specifier).toEqual(expect.arrayContaining(names))
      }
    })
  }

  it('runs its command from the fresh project', () => {
    const bin = join(app, 'node_modules', 'tessera', 'bin', 'tessera.js')
    const out = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8', cwd: app })

    expect(out.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version)
  })

  for (const type of ['commonjs', 'module'] as const) {
    it(`type-checks in a strict "type": "${type}" project (module node16, no skipLibCheck)`, {
      timeout: 120_000,
    }, () => {
      // A project of its own for each: one program that loads the package both ways would
      // see each adapter's augmentation of its framework's request twice.
      const project = join(app, type)
      mkdirSync(project, { recursive: true })
      writeFileSync(join(project, 'package.json'), `{ "type": "${type}" }\n`)
      copyFileSync('test/types/consumer.ts', join(project, 'consumer.ts'))
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            target: 'ES2022',
            module: 'node16',
            moduleResolution: 'node16',
            types: ['node'],
            skipLibCheck: false,
            noEmit: true,
          },
          files: ['consumer.ts'],
        }),
      )
      const tsc = spawnSync(
        process.execPath,
        [resolve('node_modules/typescript/bin/tsc'), '-p', project, '--pretty', 'false'],
        { encoding: 'utf8', cwd: project },
      )
      const output = tsc.stdout + tsc.stderr
      // Only errors in the app's file or in tessera's declarations count; other packages'
      // declarations (a framework's @types) are not this package's to fix.
      const ours = output
        .split('\n')
        .filter((line) => /^(consumer\.ts|\.\.\/node_modules\/tessera\/)/.test(line))

      expect(ours).toEqual([])
      // tsc ran: it passed, or failed only on diagnostics elsewhere.
      expect(tsc.status === 0 || /error TS\d+/.test(output), output).toBe(true)
    })
  }

  it('binds a declared session shape on every adapter (each @ts-expect-error must be an error)', {
    timeout: 120_000,
  }, async () => {
    const { ours, output } = await typecheck(app, 'declared', ['declared.ts'], { types: ['node'] })

    // An unused @ts-expect-error (TS2578) is a refusal that did not happen.
    expect(ours, output).toEqual([])
  })

  it('loads through import and require in one project without declaring req.session twice', {
    timeout: 120_000,
  }, async () => {
    const { ours, output } = await typecheck(app, 'dual', ['dual/esm.mts', 'dual/cjs.cts'], {
      types: ['node'],
    })

    expect(
      ours.filter((line) => line.includes('TS2717')),
      output,
    ).toEqual([])
    expect(ours, output).toEqual([])
  })

  it('types req.session as tessera’s in a project that also has @types/express-session', {
    timeout: 240_000,
  }, async () => {
    // The connect-store bridge's app: connect-redis's declarations import express-session's.
    // Checked with skipLibCheck (tsc --init's default) and without, at once.
    for (const project of ['express-session', 'express-session-skip']) {
      for (const name of ['@types/express-session', 'express-session', 'connect-redis']) {
        mkdirSync(dirname(join(app, project, 'node_modules', name)), { recursive: true })
        symlinkSync(resolve('node_modules', name), join(app, project, 'node_modules', name), 'dir')
      }
    }

    const [checking, skipping] = await Promise.all([
      typecheck(app, 'express-session', ['express-session.ts']),
      typecheck(app, 'express-session-skip', ['express-session.ts'], { skipLibCheck: true }),
    ])

    // With skipLibCheck the project compiles as it is.
    expect(skipping.ok, skipping.output).toBe(true)
    // Without it, express-session's own declaration is the one reported (TS2717), never
    // tessera's or the app's.
    expect(checking.ours, checking.output).toEqual([])
    expect(checking.output).toMatch(
      /@types\/express-session\/index\.d\.ts\(\d+,\d+\): error TS2717/,
    )
  })

  const attw = findAttw()
  describeService(
    '@arethetypeswrong/cli on the tarball',
    attw ? null : '@arethetypeswrong/cli is not installed; run `npm ci`',
    () => {
      it('finds no problem for node16, from CommonJS or ESM, in any entry point', {
        timeout: 60_000,
      }, () => {
        const result = spawnSync(
          process.execPath,
          [attw!, tarball, '--profile', 'node16', '--format', 'table-flipped', '--no-color'],
          { encoding: 'utf8' },
        )

        expect(result.status, result.stdout + result.stderr).toBe(0)
        // Every subpath was checked, none as an unchecked wildcard.
        for (const specifier of Object.keys(subpaths)) {
          expect(result.stdout).toContain(`"${specifier}"`)
        }
        expect(result.stdout).not.toContain('wildcard')
      })
    },
  )
})
