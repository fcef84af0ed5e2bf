/**
 * The repository stands alone: a clone anywhere builds, tests and reads the same. No tracked
 * file names a path outside the checkout, neither an absolute one on the machine it was written
 * on nor a relative one that climbs out of the root, because a clone elsewhere has neither.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim()

// `git ls-files` sees the index, so a reference is caught before it is committed as well.
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((file) => file !== '')

// The development machine keeps its sibling folders under /work; a path there, or in a home
// directory, exists on no other machine. Built from parts so this file does not match itself.
const absolute = new RegExp(
  `(?<![\\w.-])/(?:${['work', 'home', 'Users'].join('|')})/[^\\s'"\`)]*`,
  'g',
)
// One or more `../` steps and whatever follows, up to a quote, space or closing bracket.
const climbing = /(?<![\w./-])(?:\.\.\/)+[^\s'"`)\]>,;]*/g

interface Finding {
  file: string
  line: number
  path: string
}

/** The references in one file's text that lead outside the repository root. */
function outsideReferences(file: string, text: string): Finding[] {
  const findings: Finding[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    for (const match of line.matchAll(absolute)) {
      findings.push({ file, line: i + 1, path: match[0] })
    }
    for (const match of line.matchAll(climbing)) {
      const target = relative(root, resolve(root, dirname(file), match[0]))
      if (target.startsWith('..') || isAbsolute(target)) {
        findings.push({ file, line: i + 1, path: match[0] })
      }
    }
  }
  return findings
}

describe('the repository', () => {
  it('names no path outside itself in any tracked file', () => {
    const findings: Finding[] = []

    for (const file of tracked) {
      const bytes = readFileSync(resolve(root, file))
      // Binary files (images, fonts) hold no paths a reader or a build would follow.
      if (bytes.includes(0)) continue
      findings.push(...outsideReferences(file, bytes.toString('utf8')))
    }

    const report = findings.map((f) => `${f.file}:${f.line}: ${f.path}`).join('\n')
    expect(
      findings,
      `these tracked files name paths outside the repository, which a clone elsewhere does not have; move what they need into the repository (test data under test/vectors/) and refer to it there:\n${report}`,
    ).toEqual([])
  })

  it('finds a sibling folder, an absolute machine path and an import that climbs out', () => {
    // Spelled in pieces so that this file's own text holds none of them.
    const up = `..${'/'}`
    const text = [
      `readFileSync(new URL('${up}${up}shared/vectors/x.json', import.meta.url))`,
      `see ${'/wo'}rk/shared/plan.md`,
      `import { a } from '${up}src/a.js'`,
    ].join('\n')

    const found = outsideReferences('test/example.test.ts', text)

    expect(found.map((f) => [f.line, f.path])).toEqual([
      [1, `${up}${up}shared/vectors/x.json`],
      [2, `${'/wo'}rk/shared/plan.md`],
    ])
  })
})
