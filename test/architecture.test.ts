/**
 * The layers of `src/` import only downwards (docs/architecture.md): a module may import its
 * own folder and the layers below it, never a layer above or beside it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const src = resolve(import.meta.dirname, '../src')

/** Each top-level folder (or root file) of `src/` and its floor: higher floors use lower ones. */
const floors: Record<string, number> = {
  'errors.ts': 0,
  primitives: 1,
  transports: 2,
  codecs: 2,
  stores: 2,
  engines: 3,
  session: 4,
  features: 5,
  testing: 5,
  adapters: 6,
  cli: 6,
  'index.ts': 7,
}

function layerOf(path: string): string {
  return relative(src, path).split('/')[0]!
}

function modules(): string[] {
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(src, f))
}

/** Every relative import of a module, static or dynamic, type-only included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    found.push(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')))
  }
  return found
}

describe('the layers of src/', () => {
  it('every folder has a floor', () => {
    const layers = new Set(modules().map(layerOf))

    expect([...layers].filter((layer) => !(layer in floors))).toEqual([])
  })

  it('import only their own layer and the layers below it', () => {
    const climbing: string[] = []
    for (const file of modules()) {
      const from = layerOf(file)
      for (const target of importsOf(file)) {
        const to = layerOf(target)
        if (to === from) continue
        if (!(floors[to]! < floors[from]!)) {
          climbing.push(`${relative(src, file)} imports ${relative(src, target)}`)
        }
      }
    }

    expect(climbing).toEqual([])
  })
})
