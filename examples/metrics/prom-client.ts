/**
 * Counting session events with prom-client: created, regenerated, destroyed, rejected cookies
 * (by reason) and store errors, ready for a Prometheus scrape at /metrics.
 * @module
 */
import { Counter, Registry } from 'prom-client'
import type { Sessions } from 'tessera'

/** Registers tessera's counters on `registry` and keeps them up to date. */
export function sessionMetrics(sessions: Sessions, registry = new Registry()) {
  const events = new Counter({
    name: 'tessera_session_events_total',
    help: 'Session lifecycle events: created, regenerated, destroyed.',
    labelNames: ['event'],
    registers: [registry],
  })
  const rejected = new Counter({
    name: 'tessera_rejected_cookies_total',
    help: 'Session cookies refused, by reason (bad_signature, expired, …).',
    labelNames: ['reason'],
    registers: [registry],
  })
  const storeErrors = new Counter({
    name: 'tessera_store_errors_total',
    help: 'Session store calls that failed or timed out.',
    labelNames: ['store'],
    registers: [registry],
  })
  const stop = sessions.on((event) => {
    switch (event.type) {
      case 'rejected':
        rejected.inc({ reason: event.reason })
        break
      case 'store_error':
        storeErrors.inc({ store: event.error.store })
        break
      default:
        events.inc({ event: event.type })
    }
  })
  return { registry, stop }
}
