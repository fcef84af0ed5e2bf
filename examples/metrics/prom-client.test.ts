import { createSessions } from 'tessera'
import { createMemoryStore } from 'tessera/stores/memory'
import { describe, expect, it } from 'vitest'
import { sessionMetrics } from './prom-client.js'

describe('counting session events with prom-client', () => {
  it('counts created sessions and rejected cookies by reason', async () => {
    const sessions = createSessions({
      secret: 'metrics-example-secret-32-bytes-ok!',
      store: createMemoryStore(),
    })
    const { registry } = sessionMetrics(sessions)

    const s = sessions.open(undefined)
    s.set('user', 'u')
    await sessions.commit(s)
    // A refused cookie is reported when the request uses its session.
    sessions.open('session=not-a-valid-cookie').get('user')
    const text = await registry.metrics()

    expect(text).toContain('tessera_session_events_total{event="created"} 1')
    expect(text).toContain('tessera_rejected_cookies_total{reason="bad_signature"} 1')
  })
})
