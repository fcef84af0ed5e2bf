/**
 * Instructions per request of one system, counted by valgrind: `npx tsx bench/launch.ts
 * instructions <system id> [read|skip|anon|write]… [--requests N]`. Unlike req/s, an instruction
 * count is the same whatever else the machine runs, so on a shared machine it is the figure that
 * can be trusted to a few percent. `npm run bench:instructions` counts many systems and writes a
 * report with their ratios (bench/instructions-report.ts).
 *
 * How it counts is in bench/lib/callgrind.ts: 4,000 warm-up requests, then 1,000 counted
 * (`--requests`: more of them average over more collections, which come every few hundred).
 * Needs valgrind (apt-get install valgrind); about half a minute per system and scenario.
 * @module
 */
import { parseArgs } from 'node:util'
import { countInstructions } from './lib/callgrind.js'
import { newRunId } from './lib/config.js'
import { cleanAll } from './lib/services.js'
import { type Scenario, systemById } from './lib/systems.js'

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '1000' } },
})
const [id, ...scenarios] = positionals
const requests = Number(flags.requests)
const known: readonly string[] = ['read', 'skip', 'anon', 'write']
if (
  !id ||
  !Number.isInteger(requests) ||
  requests < 1 ||
  scenarios.some((s) => !known.includes(s))
) {
  console.error(
    'usage: npx tsx bench/launch.ts instructions <system id> [read|skip|anon|write]… [--requests N]',
  )
  process.exit(2)
}
systemById(id)

const runId = newRunId()
try {
  for (const scenario of (scenarios.length > 0 ? scenarios : ['read']) as Scenario[]) {
    const perRequest = await countInstructions(id, scenario, { requests, runId })
    console.log(
      `${id} ${scenario}: ${Math.round(perRequest).toLocaleString('en-US')} instructions/request`,
    )
  }
} finally {
  await cleanAll(runId)
}
