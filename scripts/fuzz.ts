/**
 * The long fuzz run: the properties of the CI suite (`test/fuzz`), with a random or given seed
 * and as many inputs as fit in the time given, shared among the targets. Prints how many inputs
 * each target tried, the seed, and fast-check's report (seed and path to replay) for a failure.
 *
 *   npm run fuzz                                  # 60 s, a random seed
 *   npm run fuzz -- --seconds 600 --seed 42       # longer, reproducible
 *   npm run fuzz -- --only "flask codec" --seed 42 --path "113:1:4"   # replay one failure
 *   npm run fuzz -- --ignore "forbidden key|__proto__"   # look past a known bug
 *
 * A target that fails goes on with the next seed until its time is up, and every distinct
 * failure is reported once. Exit code: 0 when every target held, 1 when one failed, 2 for bad
 * usage.
 * @module
 */
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import { allTargets } from '../test/fuzz/all.js'
import { report } from '../test/fuzz/support/run.js'

function usage(message: string): never {
  process.stderr.write(
    `fuzz: ${message}\nusage: npm run fuzz -- [--seconds N] [--seed N] [--only TEXT] [--path PATH] [--ignore REGEX]\n`,
  )
  process.exit(2)
}

let values: { seconds?: string; seed?: string; only?: string; path?: string; ignore?: string }
try {
  ;({ values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      seed: { type: 'string' },
      only: { type: 'string' },
      path: { type: 'string' },
      ignore: { type: 'string' },
    },
  }))
} catch (error) {
  usage((error as Error).message)
}

const seconds = Number(values.seconds ?? 60)
if (!(seconds > 0)) usage(`--seconds must be a positive number, not ${values.seconds}`)
const seed = values.seed === undefined ? (Math.random() * 2 ** 31) | 0 : Number(values.seed)
if (!Number.isInteger(seed)) usage(`--seed must be an integer, not ${values.seed}`)
let ignore: RegExp | undefined
try {
  ignore = values.ignore === undefined ? undefined : new RegExp(values.ignore)
} catch (error) {
  usage(`--ignore: ${(error as Error).message}`)
}
const only = values.only?.toLowerCase()
const targets = allTargets.filter((t) => !only || t.name.toLowerCase().includes(only))
if (targets.length === 0) usage(`no target matches --only ${values.only}`)

// Timing targets spend most of their time measuring, not generating: they get a smaller share.
const weight = (timing: boolean | undefined) => (timing ? 1 : 2)
const totalWeight = targets.reduce((sum, t) => sum + weight(t.timing), 0)
const width = Math.max(...targets.map((t) => t.name.length))

process.stdout.write(
  `tessera fuzz: seed ${seed}, ${seconds} s over ${targets.length} targets${ignore ? `, ignoring /${ignore.source}/` : ''}\n`,
)
let total = 0
const failed: string[] = []
for (const target of targets) {
  const budget = (seconds * 1000 * weight(target.timing)) / totalWeight
  const started = performance.now()
  const deadline = started + budget
  const ready = await target.prepare()
  let tried = 0
  /** Distinct failures (by the shape of their message), each with its first report. */
  const failures = new Map<string, string>()
  try {
    // After a failure the target goes on with the next seed, so one bug does not hide the others
    // and the count of inputs covers the whole budget.
    for (let round = 0; performance.now() < deadline; round++) {
      const details = await ready.check(
        {
          seed: seed + round,
          numRuns: 1e9,
          endOnFailure: target.timing ?? false,
          plugins: [fc.interruptAfterTimeLimit(Math.max(1, deadline - performance.now()))],
          ...(values.path === undefined ? {} : { path: values.path }),
        },
        ignore,
      )
      tried += details.numRuns
      if (!details.failed) break
      const text = report(target, details)
      const shape = signature(details.errorInstance)
      if (!failures.has(shape)) failures.set(shape, text)
      if (values.path !== undefined) break
    }
  } finally {
    await ready.close()
  }
  total += tried
  const took = ((performance.now() - started) / 1000).toFixed(1)
  const status = failures.size === 0 ? 'ok' : `FAILED (${failures.size} distinct)`
  process.stdout.write(
    `  ${target.name.padEnd(width)}  ${String(tried).padStart(8)} inputs  ${took.padStart(5)} s  ${status}\n`,
  )
  if (failures.size > 0) failed.push(target.name)
  for (const text of failures.values()) process.stdout.write(`${indent(shorten(text))}\n`)
}
process.stdout.write(
  `total: ${total} inputs, seed ${seed}; ${failed.length === 0 ? 'every target held' : `${failed.length} failed: ${failed.join(', ')}`}\n`,
)
process.exit(failed.length === 0 ? 0 : 1)

/**
 * A failure's message with its particulars (quoted text, numbers, routes, paths) blanked and
 * cut after the first error class it names: one signature per bug, more or less.
 */
function signature(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error))
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\$(\[[^\]]*\])+/g, '$[…]')
    .replace(/\/\w+/g, '/…')
    .replace(/\d+(\.\d+)?/g, 'N')
  const upToError = /^[\s\S]*?\b\w*Error\b/.exec(message)
  return (upToError ? upToError[0] : message).slice(0, 160)
}

/** A report with its long lines cut, so one huge counterexample does not flood the terminal. */
function shorten(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('Hint:'))
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)}… (${line.length} chars)` : line))
    .join('\n')
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n')
}
