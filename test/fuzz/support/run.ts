/**
 * Runs a fuzz target in the CI suite: a fixed seed (FUZZ_SEED overrides it, to replay a run of
 * `npm run fuzz`) and the target's modest number of runs. FUZZ_IGNORE (a regex) lets a known
 * bug's failures pass, to see what else fails.
 * @module
 */
import fc from 'fast-check'
import { it } from 'vitest'
import type { FuzzTarget } from '../targets.js'

/** The seed of every CI run. */
export const ciSeed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x7e55e7a

/** FUZZ_IGNORE: a regex of failure messages to treat as passes, to look past a known bug. */
const ignore = process.env.FUZZ_IGNORE ? new RegExp(process.env.FUZZ_IGNORE) : undefined

/** fast-check's report, with the error the counterexample raised. */
export function report(target: FuzzTarget, details: fc.RunDetails<unknown>): string {
  const error = details.errorInstance
  const message = error instanceof Error ? error.message : String(error)
  return `${target.name}: ${message}\n${fc.defaultReportMessage(details) ?? ''}`
}

/** Declares a test that runs `target` with the CI seed and fails with fast-check's report. */
export function fuzz(target: FuzzTarget, timeout = 60_000): void {
  it(`${target.name} (${target.ciRuns} inputs, seed ${ciSeed})`, { timeout }, async () => {
    const ready = await target.prepare()
    try {
      const details = await ready.check(
        { seed: ciSeed, numRuns: target.ciRuns, endOnFailure: target.timing ?? false },
        ignore,
      )
      if (details.failed) throw new Error(report(target, details))
      if (details.numRuns !== target.ciRuns) {
        throw new Error(`${target.name} ran ${details.numRuns} inputs, not ${target.ciRuns}`)
      }
    } finally {
      await ready.close()
    }
  })
}
