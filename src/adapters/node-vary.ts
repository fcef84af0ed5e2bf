/**
 * `Vary: Cookie` on a response whose app gives `res.writeHead` a `Vary` of its own: Node lets
 * the headers given to `writeHead` replace those set before with `setHeader`. Internal to the
 * node:http adapter (`./node-response.ts`).
 * @module
 */
import type { OutgoingHttpHeaders } from 'node:http'
import { varyCookie } from './shared.js'

/** Whether `writeHead`'s arguments give a `Vary` header. */
export function givesVary(args: readonly unknown[]): boolean {
  const given = args[typeof args[1] === 'string' ? 2 : 1]
  if (given === undefined || given === null) return false
  if (!Array.isArray(given)) {
    for (const name in given as object) if (isVary(name)) return true
    return false
  }
  if (Array.isArray(given[0])) return (given as unknown[][]).some(([name]) => isVary(name))
  for (let i = 0; i < given.length; i += 2) if (isVary(given[i])) return true
  return false
}

function isVary(name: unknown): boolean {
  return typeof name === 'string' && name.length === 4 && name.toLowerCase() === 'vary'
}

/**
 * `writeHead`'s arguments, which give a `Vary` of the app's, with `Cookie` added to it. Node
 * lets the headers given to `writeHead` replace those set before, so a `Vary: Cookie` set
 * with `setHeader` would be lost to the app's, and a shared cache could hand one user's page
 * to another. The app's own headers are copied, never written into.
 */
export function withVary(args: readonly unknown[], names: string | undefined): unknown[] {
  const at = typeof args[1] === 'string' ? 2 : 1
  const given = args[at] as OutgoingHttpHeaders | unknown[]
  const nested = Array.isArray(given) && Array.isArray(given[0])
  let theirs: unknown
  let headers: OutgoingHttpHeaders | unknown[]
  if (!Array.isArray(given)) {
    const copy: OutgoingHttpHeaders = {}
    for (const name in given) {
      if (isVary(name)) theirs = given[name]
      else copy[name] = given[name]
    }
    headers = copy
  } else if (nested) {
    // [[name, value], …]
    const pairs: unknown[] = []
    for (const pair of given as [unknown, unknown][]) {
      if (isVary(pair[0])) theirs = pair[1]
      else pairs.push(pair)
    }
    headers = pairs
  } else {
    // [name, value, name, value, …]; an odd one out stays, for Node to refuse as it would.
    const flat: unknown[] = []
    for (let i = 0; i < given.length; i += 2) {
      if (i + 1 < given.length && isVary(given[i])) theirs = given[i + 1]
      else flat.push(...given.slice(i, i + 2))
    }
    headers = flat
  }
  const vary = varyCookie(
    theirs === undefined ? null : Array.isArray(theirs) ? theirs.join(', ') : String(theirs),
    names,
  )
  if (!Array.isArray(headers)) headers.vary = vary
  else if (nested) headers.push(['vary', vary])
  else headers.push('vary', vary)
  const out = args.slice(0, at)
  out.push(headers)
  return out
}
