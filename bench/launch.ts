/**
 * Runs a bench script the way the package ships: `tsx bench/launch.ts <script> [args]` (run,
 * scale, codecs, profile, instructions, instructions-report…) bundles the bench scripts and
 * tessera's sources with tsup (as `npm run build` does: target node20, no name-keeping helpers,
 * no loader hooks at run time), then runs the script with plain node. Under tsx, every closure
 * tessera makes per request would pay for esbuild's `keepNames` helper and the loader's hooks,
 * which the published package never does.
 * @module
 */
import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { benchDir, resultsDir } from './lib/paths.js'

const entries = [
  'run',
  'server',
  'profile',
  'instructions',
  'instructions-report',
  'autocannon',
  'memory',
  'codecs',
  'scale',
]
const [name, ...args] = process.argv.slice(2)
const buildOnly = name === '--build-only'
if (!name || (!buildOnly && !entries.includes(name))) {
  console.error(`usage: tsx bench/launch.ts <${entries.join('|')}|--build-only> [args]`)
  process.exit(2)
}

const { build } = await import('tsup')
const buildDir = join(resultsDir, '.build', String(process.pid))
rmSync(buildDir, { recursive: true, force: true })
await build({
  entry: Object.fromEntries(
    entries
      .filter((e) => existsSync(join(benchDir, `${e}.ts`)))
      .map((e) => [e, join(benchDir, `${e}.ts`)]),
  ),
  outDir: buildDir,
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  // Packages stay imports of node_modules, resolved from the repository as usual.
  skipNodeModulesBundle: true,
  outExtension: () => ({ js: '.mjs' }),
  dts: false,
  sourcemap: false,
  clean: false,
  silent: true,
  config: false,
})

if (buildOnly) {
  console.log(buildDir)
  process.exit(0)
}

const child = spawn(process.execPath, [join(buildDir, `${name}.mjs`), ...args], {
  stdio: 'inherit',
  env: { ...process.env, TESSERA_BENCH_BUNDLED: '1', TESSERA_BENCH_BUILD: buildDir },
})
// Ctrl-C reaches the child from the terminal by itself: forwarding it would make a second one.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => child.kill('SIGTERM'))
child.on('exit', (code, signal) => {
  rmSync(buildDir, { recursive: true, force: true })
  process.exit(code ?? (signal ? 1 : 0))
})
