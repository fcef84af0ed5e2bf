import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  resolve: {
    // The package's public names, as tsconfig.json's `paths` map them. Subpaths come first and
    // every pattern is anchored, so `tessera/stores/redis` never falls to the bare `tessera`.
    alias: [
      { find: /^tessera\/adapters\/([a-z-]+)$/, replacement: src('adapters/$1.ts') },
      { find: /^tessera\/stores\/([a-z-]+)$/, replacement: src('stores/$1.ts') },
      { find: /^tessera\/flask$/, replacement: src('codecs/flask/index.ts') },
      { find: /^tessera\/testing$/, replacement: src('testing/index.ts') },
      { find: /^tessera\/url$/, replacement: src('stores/url.ts') },
      { find: /^tessera$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: [
      'src/**/*.test.ts',
      'test/**/*.test.ts',
      'demo/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // A local Redis Cluster for the run, for the suites that run the Redis store on one.
    globalSetup: ['./test/support/redis-cluster-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
})
