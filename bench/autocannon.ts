/**
 * The load generator when wrk is not installed: autocannon in its own process (so it never
 * shares a thread with the server), driven by one JSON argument and answering with one JSON
 * line on stdout.
 * @module
 */
import autocannon from 'autocannon'

interface Job {
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  seconds: number
  connections: number
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job
const result = await autocannon({
  url: job.url,
  method: job.method,
  headers: job.headers,
  ...(job.body === undefined ? {} : { body: job.body }),
  duration: job.seconds,
  connections: job.connections,
})
const requests = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
process.stdout.write(
  `${JSON.stringify({
    requests,
    seconds: result.duration,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result['4xx'] + result['5xx'],
  })}\n`,
)
