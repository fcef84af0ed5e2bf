/**
 * The bench app's sessions: tessera's native signed cookie, or none at all when
 * `TESSERA_BENCH_NEXT` is `none` (the baseline: the same Next app, the same routes). The bench
 * serves the app in its own process (bench/lib/systems.ts), so both are read from its
 * environment when the first route module loads.
 * @module
 */
import { createSessions, type Sessions } from 'tessera'

export type BenchSession = { username?: string }

export const anonymous = 'You are not logged in'
export const textHeaders = { 'content-type': 'text/plain; charset=utf-8' }

let made: Sessions<BenchSession> | null | undefined

/** The sessions, or null for the baseline. */
export function sessions(): Sessions<BenchSession> | null {
  if (made !== undefined) return made
  const mode = process.env.TESSERA_BENCH_NEXT
  if (mode === 'none') {
    made = null
    return made
  }
  const secret = process.env.TESSERA_BENCH_SECRET
  if (mode !== 'native' || !secret) {
    throw new Error(
      'the bench Next app needs TESSERA_BENCH_NEXT (none or native) and TESSERA_BENCH_SECRET: ' +
        'bench/lib/systems.ts sets them; run it through `npm run bench`',
    )
  }
  made = createSessions<BenchSession>({ secret })
  return made
}
