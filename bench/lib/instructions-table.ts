/**
 * The rows of `npm run bench:instructions`: which systems a run counts, each count's ratios to
 * its baseline and to the best peer, and the tables. Pure functions of the counts, apart from
 * the measuring in bench/instructions-report.ts.
 *
 * Ratios read as `npm run bench`'s do, higher is better: the baseline's instructions per
 * request over the system's (as req/s would be, the system's over the baseline's, on a server
 * bound by its own CPU).
 * @module
 */
import { scenarioTitles, type Target, targets } from './report.js'
import type { Scenario, SystemSpec } from './systems.js'

/** One line of `bench/results/instructions.json`. */
export interface InstructionRow {
  id: string
  system: string
  framework: SystemSpec['framework']
  mode: string
  scenario: Scenario
  /** Instructions of the server's main thread per request. */
  instructions: number
  /** The same framework with no sessions (its own id for a bare system). */
  baseline: string
  /** baseline's instructions ÷ this system's; null when the baseline was not counted. */
  ratio_baseline: number | null
  /** The peer of the same framework and mode family with the fewest instructions (tessera rows). */
  best_peer: string | null
  /** best_peer's instructions ÷ this system's. */
  ratio_peer: number | null
  /** The target `bench/lib/report.ts` sets on this system and scenario, if any. */
  target: {
    label: string
    against: Target['against']
    min: number
    value: number
    met: boolean
  } | null
}

/** A counted system and scenario. */
export interface Count {
  id: string
  scenario: Scenario
  instructions: number
}

/**
 * What a mode compares with: every signed or encrypted cookie is one family; a server-side
 * store is compared with the same store (memory with memory, Redis with Redis).
 */
export function family(spec: SystemSpec): string {
  const mode = spec.mode.replace(/, lazy$/, '')
  if (mode === 'none') return 'none'
  if (mode.endsWith('cookie')) return 'cookie'
  return mode.split(',')[0]!
}

/** The systems other than tessera on the framework of `spec` that keep sessions the same way. */
export function peersOf(spec: SystemSpec, all: readonly SystemSpec[]): SystemSpec[] {
  return all.filter(
    (s) =>
      s.system !== 'tessera' &&
      s.mode !== 'none' &&
      s.framework === spec.framework &&
      family(s) === family(spec),
  )
}

/** The framework's bare system. */
export function baselineOf(spec: SystemSpec): string {
  return spec.baseline ?? spec.id
}

/**
 * The default selection: every tessera system of the quick set, its framework's bare system and
 * its peers, in the order of `all`.
 */
export function defaultSelection(all: readonly SystemSpec[]): SystemSpec[] {
  const ids = new Set<string>()
  for (const spec of all) {
    if (spec.system !== 'tessera' || !spec.quick) continue
    ids.add(spec.id)
    ids.add(baselineOf(spec))
    for (const peer of peersOf(spec, all)) ids.add(peer.id)
  }
  return all.filter((s) => ids.has(s.id))
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}

/** The rows of a run's counts, with their ratios and targets, in scenario then system order. */
export function instructionRows(
  counts: readonly Count[],
  specs: readonly SystemSpec[],
  targetList: readonly Target[] = targets,
): InstructionRow[] {
  const countOf = (id: string, scenario: Scenario) =>
    counts.find((c) => c.id === id && c.scenario === scenario)?.instructions
  const ratio = (base: number | undefined, value: number) =>
    base === undefined || !(value > 0) ? null : round3(base / value)
  const order: Scenario[] = ['read', 'skip', 'anon', 'write']
  const rows: InstructionRow[] = []
  for (const scenario of order) {
    for (const spec of specs) {
      const instructions = countOf(spec.id, scenario)
      if (instructions === undefined) continue
      const baseline = baselineOf(spec)
      let best: { id: string; instructions: number } | null = null
      if (spec.system === 'tessera') {
        for (const peer of peersOf(spec, specs)) {
          const n = countOf(peer.id, scenario)
          if (n !== undefined && (best === null || n < best.instructions)) {
            best = { id: peer.id, instructions: n }
          }
        }
      }
      const ratioBaseline = ratio(countOf(baseline, scenario), instructions)
      let target: InstructionRow['target'] = null
      const t = targetList.find((x) => x.id === spec.id && x.scenario === scenario)
      if (t) {
        // 'bare' is bare node:http; 'framework' the system's own framework alone.
        const against = t.against === 'bare' ? 'bare' : baseline
        const value = ratio(countOf(against, scenario), instructions)
        if (value !== null) {
          target = { label: t.label, against: t.against, min: t.min, value, met: value >= t.min }
        }
      }
      rows.push({
        id: spec.id,
        system: spec.system,
        framework: spec.framework,
        mode: spec.mode,
        scenario,
        instructions: Math.round(instructions),
        baseline,
        ratio_baseline: ratioBaseline,
        best_peer: best?.id ?? null,
        ratio_peer: best ? ratio(best.instructions, instructions) : null,
        target,
      })
    }
  }
  return rows
}

const header = [
  'system',
  'scenario',
  'instructions/req',
  'baseline',
  '× baseline',
  'best peer',
  '× best peer',
  'target',
]
const numeric = new Set([2, 4, 6])

function cells(row: InstructionRow): string[] {
  const fixed = (n: number | null) => (n === null ? '' : n.toFixed(2))
  const t = row.target
  return [
    row.id,
    row.scenario,
    row.instructions.toLocaleString('en-US'),
    row.baseline === row.id ? '' : row.baseline,
    fixed(row.ratio_baseline),
    row.best_peer ?? '',
    fixed(row.ratio_peer),
    t ? `≥ ${t.min.toFixed(2)}: ${t.met ? 'met' : 'MISSED'}` : '',
  ]
}

/** The table as aligned text and as Markdown, scenarios in turn. */
export function formatInstructionTable(rows: readonly InstructionRow[]): {
  text: string
  markdown: string
} {
  const body = rows.map(cells)
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)))
  const line = (c: string[]) =>
    c
      .map((v, i) => (numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const scenarios = [...new Set(rows.map((r) => r.scenario))]
  const legend = scenarios.map((s) => `${scenarioTitles[s]}`)
  const text = [line(header), ...body.map(line)].join('\n')
  const markdown = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (numeric.has(i) ? '---:' : '---')).join('|')}|`,
    ...body.map((c) => `| ${c.join(' | ')} |`),
    '',
    ...legend.map((l) => `- ${l}`),
  ].join('\n')
  return { text, markdown }
}

/** The target lines, as `checkTargets` prints them for req/s. */
export function instructionTargets(rows: readonly InstructionRow[]): string[] {
  const lines: string[] = []
  for (const row of rows) {
    const t = row.target
    if (!t) continue
    lines.push(
      `  ${t.met ? 'met   ' : 'MISSED'}  ${t.label.padEnd(52)} ${t.value.toFixed(2)} (≥ ${t.min.toFixed(2)})`,
    )
  }
  return lines.length > 0 ? ['targets (instruction ratios from this run):', ...lines] : []
}
