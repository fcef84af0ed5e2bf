/**
 * The bench's Next.js app (bench/next-app): the same three routes as every other system, as
 * Route Handlers, with tessera's Next adapter or with no sessions. `next build` makes it; the
 * bench builds it before a run that includes a Next system (about a minute), when it is missing
 * or older than its sources or tessera's dist/ (which it imports by the package's own name).
 * @module
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { benchDir, root } from './paths.js'

export const nextAppDir = join(benchDir, 'next-app')
const output = join(nextAppDir, '.next')
const buildId = join(output, 'BUILD_ID')
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next')

/** The newest modification time of the files under `dir`, leaving out build output. */
function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    if (path.startsWith(output) || entry.name === 'next-env.d.ts') continue
    latest = Math.max(latest, statSync(path).mtimeMs)
  }
  return latest
}

/** Null when the app's build is there and current, else why not. */
export function nextAppStale(): string | null {
  if (!existsSync(join(root, 'dist', 'adapters', 'next.js'))) {
    return 'no build in dist/; run `npm run build` (the Next app imports tessera from it)'
  }
  if (!existsSync(buildId)) return 'bench/next-app is not built'
  const built = statSync(buildId).mtimeMs
  if (newest(nextAppDir) > built || newest(join(root, 'dist')) > built) {
    return 'bench/next-app is older than its sources or dist/'
  }
  return null
}

/**
 * Builds the app when it is missing or stale. Resolves to null when it is ready, else to a
 * one-line reason to skip the Next systems.
 */
export async function prepareNextApp(): Promise<string | null> {
  const stale = nextAppStale()
  if (stale === null) return null
  if (stale.startsWith('no build')) return stale
  if (!existsSync(nextBin)) return 'next is not installed; run `npm ci`'
  console.log(`${stale}: building it with next build (about a minute)`)
  const failure = await new Promise<string | null>((resolve) => {
    const child = spawn(process.execPath, [nextBin, 'build', nextAppDir], {
      cwd: root,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
    child.on('error', (error) => resolve(error.message))
    child.on('close', (code) => resolve(code === 0 ? null : text.trim()))
  })
  if (failure === null) return null
  const last = failure.split('\n').filter((line) => line.trim() !== '')
  return `next build of bench/next-app failed: ${last.slice(-3).join(' / ')}`
}
