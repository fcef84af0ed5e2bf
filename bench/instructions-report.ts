/**
 * `npm run bench:instructions`: instructions per request under callgrind (bench/lib/callgrind.ts)
 * for each tessera system, its framework's bare system and its peers, with both ratios, as
 * `npm run bench` reports req/s. An instruction count does not move with what else the machine
 * runs, so on a shared machine it is the figure targets are judged by.
 *
 *   npm run bench:instructions                       # the quick set's tessera systems, their
 *                                                    # baselines and peers, every scenario
 *   npm run bench:instructions -- --scenarios read,write --requests 500
 *   npm run bench:instructions -- --systems tessera-node-native,bare --scenarios read
 *
 * `--systems` counts exactly the systems listed (a ratio is left empty when its baseline or peer
 * is not among them). Redis and PostgreSQL systems are skipped with a note when the service does
 * not answer. Writes bench/results/instructions.json (rows), instructions-meta.json and
 * instructions.md (the table). About a minute per system and scenario with 2,000 requests, on a quiet machine.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { countInstructions, hasCallgrind } from './lib/callgrind.js'
import { newRunId } from './lib/config.js'
import {
  type Count,
  defaultSelection,
  formatInstructionTable,
  instructionRows,
  instructionTargets,
} from './lib/instructions-table.js'
import { resultsDir, root } from './lib/paths.js'
import { cleanAll, pickSystems, reachable } from './lib/services.js'
import { instructionChart } from './lib/svg.js'
import { type Scenario, type SystemSpec, systems } from './lib/systems.js'

const usage =
  'usage: npm run bench:instructions [-- --systems id,id… --scenarios read,skip,anon,write --requests N --no-chart]'
const { values: flags } = parseArgs({
  options: {
    systems: { type: 'string' },
    scenarios: { type: 'string' },
    // Over fewer, one collection or recompilation more or less shows in every request's count.
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '4000' },
    'no-chart': { type: 'boolean', default: false },
  },
})
const requests = Number(flags.requests)
const warmup = Number(flags.warmup)
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(warmup) || warmup < 0) {
  console.error(`--requests must be a whole number ≥ 1 and --warmup ≥ 0\n${usage}`)
  process.exit(2)
}
const allScenarios: Scenario[] = ['read', 'skip', 'anon', 'write']
const wanted = flags.scenarios?.split(',') ?? null
for (const s of wanted ?? []) {
  if (!(allScenarios as string[]).includes(s)) {
    console.error(`--scenarios: no scenario "${s}"; known: ${allScenarios.join(', ')}\n${usage}`)
    process.exit(2)
  }
}
const picked = pickSystems(flags.systems, 'systems', defaultSelection(systems))
if (!hasCallgrind()) {
  console.error('bench:instructions needs valgrind (apt-get install valgrind)')
  process.exit(1)
}

const { chosen, skipped } = await reachable(picked)
const scenariosOf = (spec: SystemSpec) =>
  spec.scenarios.filter((s) => wanted === null || wanted.includes(s))
const jobs = chosen.flatMap((spec) => scenariosOf(spec).map((scenario) => ({ spec, scenario })))

const runId = newRunId()
let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error('\ninterrupted: removing this run’s keys, schema and files')
  cleanAll(runId).finally(() => process.exit(130))
})

const started = new Date()
console.log(
  `tessera bench:instructions: ${chosen.length} systems, ${jobs.length} counts of ${requests} ` +
    `requests after ${warmup} warm-up ones, under callgrind — about ` +
    `${Math.max(1, Math.round((jobs.length * (20 + (warmup + requests) * 0.01)) / 60))} min`,
)
if (skipped.length > 0) console.log(`skipped: ${skipped.join('; ')}`)

const counts: Count[] = []
const failures: string[] = []
try {
  for (const [i, { spec, scenario }] of jobs.entries()) {
    if (interrupted) break
    const t0 = performance.now()
    try {
      const instructions = await countInstructions(spec.id, scenario, { requests, warmup, runId })
      counts.push({ id: spec.id, scenario, instructions })
      console.log(
        `  [${i + 1}/${jobs.length}] ${spec.id.padEnd(28)} ${scenario.padEnd(5)} ` +
          `${Math.round(instructions).toLocaleString('en-US').padStart(10)} instructions/request ` +
          `(${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      )
    } catch (error) {
      const message = `${spec.id} ${scenario}: ${(error as Error).message}`
      failures.push(message)
      console.error(`  FAILED ${message}`)
    }
  }
} finally {
  if (!interrupted) await cleanAll(runId)
}
if (interrupted) process.exit(130)

const rows = instructionRows(counts, chosen)
const meta = {
  date: started.toISOString(),
  command: `npm run bench:instructions${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  node: process.version,
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
  requests,
  warmup,
  skipped,
  failures,
}
const table = formatInstructionTable(rows)
const checks = instructionTargets(rows)
mkdirSync(resultsDir, { recursive: true })
writeFileSync(join(resultsDir, 'instructions.json'), `${JSON.stringify(rows, null, 2)}\n`)
writeFileSync(join(resultsDir, 'instructions-meta.json'), `${JSON.stringify(meta, null, 2)}\n`)
writeFileSync(
  join(resultsDir, 'instructions.md'),
  [
    `Instructions per request (server main thread, callgrind): \`${meta.command}\`, ` +
      `${meta.date}, Node ${meta.node}, ${requests} counted requests after ${warmup} warm-up ones. ` +
      'Ratios are baseline ÷ system and best peer ÷ system: higher is better.',
    '',
    table.markdown,
    ...(checks.length > 0 ? ['', '```', ...checks, '```'] : []),
    ...(skipped.length > 0 ? ['', `Skipped: ${skipped.join('; ')}.`] : []),
    ...(failures.length > 0 ? ['', `Failed: ${failures.join('; ')}.`] : []),
    '',
  ].join('\n'),
)
if (!flags['no-chart']) {
  writeFileSync(join(root, 'docs', 'instruction-ratios.svg'), instructionChart(rows, meta))
}
console.log(`\n${table.text}`)
if (checks.length > 0) console.log(`\n${checks.join('\n')}`)
if (failures.length > 0) console.log(`\nfailures:\n  ${failures.join('\n  ')}`)
console.log(
  `\nrows: bench/results/instructions.json, table: bench/results/instructions.md ` +
    `(${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min)`,
)
if (failures.length > 0) process.exitCode = 1
