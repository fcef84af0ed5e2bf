/**
 * The HTTP benchmark's rows, as text and Markdown tables, and the check of the targets.
 * @module
 */
import type { Framework, Scenario } from './systems.js'

/** One line of `bench/results/latest.json`. */
export interface Row {
  id: string
  system: string
  framework: Framework
  mode: string
  scenario: Scenario
  /** Requests per second, the median of the rounds. */
  rps: number
  p50_ms: number
  p99_ms: number
  /** Socket errors, timeouts and 4xx/5xx answers, summed over the rounds. */
  errors: number
  /** rps over bare node:http's in the same scenario, same run. */
  ratio_bare: number | null
  /** rps over the same framework with no sessions (Express and Fastify rows). */
  ratio_framework: number | null
  /** CPU seconds the server process used per second of load (1 = the server was saturated). */
  server_cpu: number | null
  /** CPU µs the server process spent per request (its own process only: not Redis's or Postgres's). */
  cpu_us_per_req: number | null
  /**
   * bare's CPU per request over this one's: the throughput ratio a server that had its core to
   * itself would show. Steadier than `ratio_bare` on a busy machine; for Redis and Postgres it
   * leaves out the database's own work.
   */
  ratio_cpu: number | null
  /** req/s of each round. */
  rounds: number[]
}

export const scenarioTitles: Record<Scenario, string> = {
  read: 'read: GET / with a logged-in session',
  skip: 'skip: GET /ping with a logged-in session; the handler never touches it',
  anon: 'anon: GET / with no cookie',
  write: 'write: POST /login, a new session per request',
}

const order: Scenario[] = ['read', 'skip', 'anon', 'write']

function fixed(n: number | null, digits: number): string {
  return n === null || !Number.isFinite(n) ? '' : n.toFixed(digits)
}

function columns(row: Row): string[] {
  return [
    row.system,
    row.framework,
    row.mode,
    row.rps.toLocaleString('en-US'),
    fixed(row.p50_ms, 2),
    fixed(row.p99_ms, 2),
    fixed(row.ratio_bare, 2),
    fixed(row.ratio_framework, 2),
    String(row.errors),
    fixed(row.server_cpu, 2),
    fixed(row.cpu_us_per_req, 1),
    fixed(row.ratio_cpu, 2),
  ]
}

const header = [
  'system',
  'framework',
  'mode',
  'req/s',
  'p50 ms',
  'p99 ms',
  '× bare',
  '× framework',
  'errors',
  'server CPU',
  'CPU µs/req',
  '× bare (CPU)',
]
const numeric = new Set([3, 4, 5, 6, 7, 8, 9, 10, 11])

/** One table per scenario, as aligned text and as Markdown. */
export function formatTables(rows: readonly Row[]): { text: string; markdown: string } {
  const text: string[] = []
  const markdown: string[] = []
  for (const scenario of order) {
    const list = rows.filter((r) => r.scenario === scenario)
    if (list.length === 0) continue
    const cells = list.map(columns)
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
    const line = (c: string[]) =>
      c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ')
    text.push(scenarioTitles[scenario], line(header), ...cells.map(line), '')
    markdown.push(
      `**${scenarioTitles[scenario]}**`,
      '',
      `| ${header.join(' | ')} |`,
      `|${header.map((_, i) => (numeric.has(i) ? '---:' : '---')).join('|')}|`,
      ...cells.map((c) => `| ${c.join(' | ')} |`),
      '',
    )
  }
  return { text: text.join('\n'), markdown: markdown.join('\n') }
}

/** A target on one row's ratio. */
export interface Target {
  id: string
  scenario: Scenario
  /** 'bare' or 'framework' */
  against: 'bare' | 'framework'
  min: number
  label: string
}

export const targets: readonly Target[] = [
  {
    id: 'tessera-node-native',
    scenario: 'read',
    against: 'bare',
    min: 0.85,
    label: 'read, native cookie',
  },
  {
    id: 'tessera-node-encrypted',
    scenario: 'read',
    against: 'bare',
    min: 0.85,
    label: 'read, encrypted cookie',
  },
  {
    id: 'tessera-node-memory',
    scenario: 'read',
    against: 'bare',
    min: 0.85,
    label: 'read, memory',
  },
  { id: 'tessera-node-sqlite', scenario: 'read', against: 'bare', min: 0.7, label: 'read, SQLite' },
  { id: 'tessera-node-redis', scenario: 'read', against: 'bare', min: 0.45, label: 'read, Redis' },
  {
    id: 'tessera-node-postgres',
    scenario: 'read',
    against: 'bare',
    min: 0.3,
    label: 'read, PostgreSQL',
  },
  {
    id: 'tessera-node-native',
    scenario: 'write',
    against: 'bare',
    min: 0.75,
    label: 'write, native cookie',
  },
  {
    id: 'tessera-node-sqlite',
    scenario: 'write',
    against: 'bare',
    min: 0.5,
    label: 'write, SQLite',
  },
  {
    id: 'tessera-node-redis',
    scenario: 'write',
    against: 'bare',
    min: 0.35,
    label: 'write, Redis',
  },
  {
    id: 'tessera-express-native',
    scenario: 'read',
    against: 'framework',
    min: 0.9,
    label: 'read on Express (native cookie) vs Express alone',
  },
  {
    id: 'tessera-express-memory',
    scenario: 'read',
    against: 'framework',
    min: 0.9,
    label: 'read on Express (memory) vs Express alone',
  },
  // Issue 17's Fastify targets: 0.85 of Fastify alone (Fastify's own cost per request is lower
  // than Express's, so the same work is a larger share of it).
  {
    id: 'tessera-fastify-native',
    scenario: 'read',
    against: 'framework',
    min: 0.85,
    label: 'read on Fastify (native cookie) vs Fastify alone',
  },
  {
    id: 'tessera-fastify-memory',
    scenario: 'read',
    against: 'framework',
    min: 0.85,
    label: 'read on Fastify (memory) vs Fastify alone',
  },
  // "Within noise": this machine's run-to-run spread of one system is about ±5%.
  ...(
    [
      'native',
      'encrypted',
      'flask',
      'memory-lazy',
      'sqlite-lazy',
      'redis-lazy',
      'postgres-lazy',
    ] as const
  ).map(
    (key): Target => ({
      id: `tessera-node-${key}`,
      scenario: 'skip',
      against: 'bare',
      min: 0.95,
      label: `untouched session (skip), ${key.replace('-', ', ')}`,
    }),
  ),
]

/** Lines saying which targets the rows meet. */
export function checkTargets(rows: readonly Row[]): string[] {
  const lines = ['targets (ratios from this run):']
  for (const t of targets) {
    const row = rows.find((r) => r.id === t.id && r.scenario === t.scenario)
    const value = row ? (t.against === 'bare' ? row.ratio_bare : row.ratio_framework) : null
    if (value === null || value === undefined) continue
    const ok = value >= t.min
    lines.push(
      `  ${ok ? 'met   ' : 'MISSED'}  ${t.label.padEnd(52)} ${value.toFixed(2)} (≥ ${t.min.toFixed(2)})`,
    )
  }
  return lines
}
