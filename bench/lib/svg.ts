/**
 * The chart of the HTTP benchmark: each system's req/s over bare node:http's, per scenario, as
 * a plain SVG (no script, no external font) that GitHub renders inline.
 * @module
 */
import type { InstructionRow } from './instructions-table.js'
import type { Row } from './report.js'
import { targets } from './report.js'
import type { Framework, Scenario } from './systems.js'

const colours: Record<Scenario, string> = {
  read: '#2563eb',
  skip: '#94a3b8',
  anon: '#16a34a',
  write: '#ea580c',
}
const legend: Record<Scenario, string> = {
  read: 'read (GET /, logged in)',
  skip: 'skip (GET /ping, logged in, session untouched)',
  anon: 'anon (GET /, no cookie)',
  write: 'write (POST /login, new session)',
}
const frameworkTitles: Record<Framework, string> = {
  'node:http': 'node:http',
  express: 'Express 5',
  fastify: 'Fastify 5',
  next: 'Next.js 16',
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export interface ChartMeta {
  /**
   * What the bars measure: req/s over bare node:http's (`npm run bench`), or instructions per
   * request as its framework alone's over the system's (`npm run bench:instructions`).
   * @default 'rps'
   */
  measure?: 'rps' | 'instructions'
  date: string
  machine: string
  loader: string
  rounds: number
  seconds: number
  connections: number
  node: string
}

/** The instruction-count report's rows as a chart: each ratio is to the system's framework alone. */
export function instructionChart(
  rows: readonly InstructionRow[],
  meta: { date: string; machine: string; node: string; requests: number; warmup: number },
): string {
  const asRows: Row[] = rows.map((r) => ({
    id: r.id,
    system: r.system,
    framework: r.framework,
    mode: r.mode,
    scenario: r.scenario,
    rps: r.instructions,
    p50_ms: 0,
    p99_ms: 0,
    errors: 0,
    ratio_bare: r.ratio_baseline,
    ratio_framework: null,
    server_cpu: null,
    cpu_us_per_req: null,
    ratio_cpu: null,
    rounds: [],
  }))
  return ratioChart(asRows, {
    measure: 'instructions',
    date: meta.date,
    machine: meta.machine,
    node: meta.node,
    loader: 'callgrind',
    rounds: meta.requests,
    seconds: meta.warmup,
    connections: 1,
  })
}

export function ratioChart(rows: readonly Row[], meta: ChartMeta): string {
  const instructions = meta.measure === 'instructions'
  const scenarios = (['read', 'skip', 'anon', 'write'] as const).filter((s) =>
    rows.some((r) => r.scenario === s),
  )
  // One group per system, in the order the rows came, bare first.
  const ids: string[] = []
  for (const row of rows) if (!ids.includes(row.id)) ids.push(row.id)
  const groups = ids.map((id) => {
    const mine = rows.filter((r) => r.id === id)
    const first = mine[0]!
    return { id, framework: first.framework, label: `${first.system} · ${first.mode}`, rows: mine }
  })
  const maxRatio = Math.max(1.1, ...rows.map((r) => r.ratio_bare ?? 0))
  const xMax = Math.ceil(maxRatio * 4) / 4

  const left = 250
  const plotWidth = 560
  const barHeight = 7
  const barGap = 1
  const groupGap = 10
  const top = 46 + Math.ceil(scenarios.length / 2) * 16 + 44
  const x = (ratio: number) => left + (ratio / xMax) * plotWidth
  const parts: string[] = []
  let y = top
  let lastFramework: Framework | null = null

  for (const group of groups) {
    if (group.framework !== lastFramework) {
      y += lastFramework === null ? 0 : 8
      parts.push(
        `<text x="12" y="${y + 11}" class="section">${escapeXml(frameworkTitles[group.framework])}</text>`,
      )
      y += 18
      lastFramework = group.framework
    }
    const present = scenarios.filter((s) => group.rows.some((r) => r.scenario === s))
    const height = present.length * (barHeight + barGap)
    parts.push(
      `<text x="${left - 8}" y="${y + height / 2 + 4}" class="label" text-anchor="end">${escapeXml(group.label)}</text>`,
    )
    let by = y
    for (const scenario of present) {
      const row = group.rows.find((r) => r.scenario === scenario)!
      const ratio = row.ratio_bare ?? 0
      const width = Math.max(0.5, x(ratio) - left)
      parts.push(
        `<rect x="${left}" y="${by}" width="${width.toFixed(1)}" height="${barHeight}" fill="${colours[scenario]}"><title>${escapeXml(
          instructions
            ? `${group.label}, ${scenario}: ${row.rps.toLocaleString('en-US')} instructions/request, ${ratio.toFixed(2)} × its framework alone`
            : `${group.label}, ${scenario}: ${row.rps.toLocaleString('en-US')} req/s, ${ratio.toFixed(2)} × bare`,
        )}</title></rect>`,
        `<text x="${(x(ratio) + 4).toFixed(1)}" y="${by + barHeight - 0.5}" class="value">${ratio.toFixed(2)}</text>`,
      )
      for (const t of targets) {
        // Instruction ratios are all to the framework alone, so every target applies there.
        if (t.id !== group.id || t.scenario !== scenario) continue
        if (!instructions && t.against !== 'bare') continue
        const tx = x(t.min).toFixed(1)
        parts.push(
          `<line x1="${tx}" x2="${tx}" y1="${by - 1}" y2="${by + barHeight + 1}" class="target"><title>target ≥ ${t.min}</title></line>`,
        )
      }
      by += barHeight + barGap
    }
    y += height + groupGap
  }

  const bottom = y + 6
  const grid: string[] = []
  for (let r = 0; r <= xMax + 1e-9; r += 0.25) {
    const gx = x(r).toFixed(1)
    grid.push(
      `<line x1="${gx}" x2="${gx}" y1="${top - 6}" y2="${bottom}" class="${Math.abs(r - 1) < 1e-9 ? 'one' : 'grid'}"/>`,
      `<text x="${gx}" y="${bottom + 14}" class="axis" text-anchor="middle">${r.toFixed(2)}</text>`,
    )
  }
  const legendItems = scenarios.map((s, i) => {
    const lx = 12 + (i % 2) * 400
    const ly = 46 + Math.floor(i / 2) * 16
    return `<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colours[s]}"/><text x="${lx + 15}" y="${ly}" class="legend">${escapeXml(legend[s])}</text>`
  })
  const legendY = 46 + Math.ceil(scenarios.length / 2) * 16 - 2
  const height = bottom + 44
  const width = left + plotWidth + 60
  const date = meta.date.slice(0, 10)
  const title = instructions
    ? 'tessera bench: instructions per request, × its framework alone (1.00 = no sessions)'
    : 'tessera bench: req/s relative to bare node:http (1.00 = the same routes with no sessions)'
  const sub = instructions
    ? `${date} · ${meta.machine} · Node ${meta.node} · callgrind, server main thread, ${meta.rounds} requests counted after ${meta.seconds} warm-up ones, one run`
    : `${date} · ${meta.machine} · Node ${meta.node} · load by ${meta.loader}, ${meta.connections} connections · median of ${meta.rounds} round(s) of ${meta.seconds} s`
  const note = instructions
    ? 'black ticks: targets · not moved by the machine’s load, but a collection more or less moves a count (docs/performance.md)'
    : 'black ticks: targets · a shared, busy machine: read every ratio as ±20–30% (docs/performance.md)'
  const axis = instructions
    ? '× its framework alone, by instructions per request, same scenario, same run'
    : '× bare node:http req/s, same scenario, same run'
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
<title id="chart-title">${escapeXml(title)} (${date})</title>
<style>
.title{font-size:15px;font-weight:600;fill:#111827}
.sub{font-size:11px;fill:#4b5563}
.section{font-size:12px;font-weight:600;fill:#111827}
.label{font-size:11px;fill:#1f2937}
.value{font-size:9px;fill:#374151}
.axis{font-size:10px;fill:#4b5563}
.legend{font-size:11px;fill:#1f2937}
.grid{stroke:#e5e7eb;stroke-width:1}
.one{stroke:#111827;stroke-width:1;stroke-dasharray:3 2}
.target{stroke:#111827;stroke-width:2}
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="22" class="title">${escapeXml(title)}</text>
<text x="12" y="${legendY + 14}" class="sub">${escapeXml(sub)}</text>
<text x="12" y="${legendY + 28}" class="sub">${escapeXml(note)}</text>
${legendItems.join('\n')}
${grid.join('\n')}
${parts.join('\n')}
<text x="${left + plotWidth / 2}" y="${bottom + 32}" class="axis" text-anchor="middle">${escapeXml(axis)}</text>
</svg>
`
}
