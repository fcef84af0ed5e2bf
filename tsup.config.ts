import { fileURLToPath } from 'node:url'
import { defineConfig, type Options } from 'tsup'

/**
 * The edge build: the entries an edge runtime can run (cookie sessions, the Fetch, Hono and
 * Next adapters, the Flask format), with `primitives/runtime.ts`, the core's one door to `node:*`,
 * swapped for `runtime-edge.ts`. Vercel Edge, Next.js middleware and workerd bundlers fail on a
 * `node:` import, so none may be left; the package's export conditions (`workerd`, `edge-light`,
 * `worker`, `browser`) send those runtimes here.
 */
const edge: Options = {
  entry: {
    index: 'src/index.ts',
    flask: 'src/codecs/flask/index.ts',
    'adapters/fetch': 'src/adapters/fetch.ts',
    'adapters/hono': 'src/adapters/hono.ts',
    'adapters/next': 'src/adapters/next.ts',
  },
  outDir: 'dist/edge',
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  esbuildPlugins: [
    {
      name: 'tessera-edge-runtime',
      setup(build) {
        const edgeRuntime = fileURLToPath(
          new URL('src/primitives/runtime-edge.ts', import.meta.url),
        )
        build.onResolve({ filter: /\/runtime\.js$/ }, (args) =>
          args.importer.includes('/src/') ? { path: edgeRuntime } : undefined,
        )
      },
    },
  ],
}

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      flask: 'src/codecs/flask/index.ts',
      'stores/memory': 'src/stores/memory.ts',
      'stores/file': 'src/stores/file.ts',
      'stores/sqlite': 'src/stores/sqlite.ts',
      'stores/redis': 'src/stores/redis.ts',
      'stores/postgres': 'src/stores/postgres.ts',
      'stores/connect': 'src/stores/connect.ts',
      'adapters/node': 'src/adapters/node.ts',
      'adapters/fetch': 'src/adapters/fetch.ts',
      'adapters/express': 'src/adapters/express.ts',
      'adapters/fastify': 'src/adapters/fastify.ts',
      'adapters/hono': 'src/adapters/hono.ts',
      'adapters/koa': 'src/adapters/koa.ts',
      'adapters/next': 'src/adapters/next.ts',
      testing: 'src/testing/index.ts',
      // openStore: a store from a URL, as SESSION_STORE and the CLI's --store take it. Not a store
      // itself, so not under stores/.
      url: 'src/stores/url.ts',
      cli: 'src/cli/bin.ts',
    },
    format: ['esm', 'cjs'],
    // Declarations marked @internal (the Session constructor, which takes the engine's draft) stay
    // out of what users see.
    dts: { compilerOptions: { stripInternal: true } },
    clean: true,
    target: 'node20',
    // Shared chunks, so every entry uses one copy of the core (one Session class, one set of errors).
    splitting: true,
    // `import.meta.url` in the CommonJS build too (the native XChaCha loader and the CLI use it).
    shims: true,
  },
  edge,
])
