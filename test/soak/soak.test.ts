/**
 * Security test plan L-01, short: the soak of `npm run soak` for 3 s per store instead of 60,
 * at the same concurrency of 50 browsers, with the same checks. Nothing here is timed: on a
 * busy machine the run just sends fewer requests. The memory bound is generous, since a few
 * seconds hardly get past warm-up; the long run is where growth shows.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { runSoak, type SoakResult } from '../../scripts/soak/driver.js'
import { soakStores } from '../../scripts/soak/stores.js'
import { describeService } from '../support/services.js'

describe('soak (L-01, short)', () => {
  for (const kind of soakStores) {
    describeService(`the demo site on ${kind.name}`, kind.unavailable(), () => {
      let result: SoakResult

      beforeAll(async () => {
        result = await runSoak(kind, {
          duration: 3,
          warmup: 1,
          concurrency: 50,
          maxRequests: 50_000,
          maxHeapGrowth: 32,
          maxRssGrowth: null,
        })
      }, 60_000)

      const examples = () => result.examples.join('\n')

      it('answers every request of 50 concurrent browsers without a 5xx', () => {
        expect(result.serverErrors, examples()).toBe(0)
      })

      it('gives every browser its own user and notes, with no wrong answer', () => {
        expect(result.anomalies, examples()).toBe(0)
      })

      it('loses none of the acknowledged notes', () => {
        expect(result.acknowledgedWrites).toBeGreaterThan(0)
        expect(result.lostWrites, examples()).toBe(0)
      })

      it('leaves in the store exactly the sessions the browsers still hold', () => {
        expect(result.liveSessions).toBeGreaterThan(0)
        expect({ missing: result.missingRecords, stray: result.strayRecords }).toEqual({
          missing: 0,
          stray: 0,
        })
        expect(result.storeRecords).toBe(result.liveSessions)
      })

      it('keeps the server heap after a full GC within 32 MB of its size after warm-up', () => {
        expect(result.memory.end.collected).toBe(true)
        expect(result.failures.filter((f) => f.includes('heap'))).toEqual([])
      })
    })
  }
})
