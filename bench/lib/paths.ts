/**
 * Where things are, whether the bench runs from its TypeScript sources (tsx) or from the bundle
 * `bench/launch.ts` builds into bench/results/.build.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tessera') {
          return dir
        }
      } catch {}
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('bench: cannot find the tessera package root')
    dir = parent
  }
}

export const root = findRoot()
export const benchDir = join(root, 'bench')
export const resultsDir = join(benchDir, 'results')
/** The bundle of this launch (each launch builds its own, so two runs never share one). */
export const buildDir = process.env.TESSERA_BENCH_BUILD ?? join(resultsDir, '.build', 'default')
export const docsDir = join(root, 'docs')

/** Whether this process runs from the bundle (set by bench/launch.ts). */
export const bundled = process.env.TESSERA_BENCH_BUNDLED === '1'

/** How to run another bench script as a node process: its bundle, or its source through tsx. */
export function scriptArgs(name: string): string[] {
  return bundled
    ? [join(buildDir, `${name}.mjs`)]
    : ['--import', 'tsx', join(benchDir, `${name}.ts`)]
}

/** Whether the module at `url` is the script node was started with (in source or bundled). */
export function isMain(url: string): boolean {
  const script = process.argv[1]
  return script !== undefined && fileURLToPath(url) === script
}
