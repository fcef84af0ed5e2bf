/**
 * Session data checked against the app's schema, through Standard Schema
 * (https://standardschema.dev), which zod, valibot and arktype implement.
 * @module
 */
import type { SessionData } from '../codecs/types.js'
import type { Validated } from './types.js'

/** A Standard Schema validator. */
export interface StandardSchema {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    /** Checks a value: its issues, or the value. */
    readonly validate: (value: unknown) => StandardResult | Promise<StandardResult>
  }
}

/** What a Standard Schema validator returns. */
export type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
      }>
    }

/**
 * A check of loaded data against `schema`: the data as the schema returns it, or null with the
 * issues. Without a schema every object passes as it is.
 */
export function createValidator(
  schema: StandardSchema | undefined,
): (data: SessionData) => Validated | Promise<Validated> {
  const standard = schema?.['~standard']
  if (!standard) return (data) => ({ data })
  return (data) => {
    const outcome = (result: StandardResult): Validated => {
      if (result.issues) return { data: null, issues: result.issues.map(describeIssue) }
      const value = result.value
      return { data: value !== null && typeof value === 'object' ? (value as SessionData) : data }
    }
    const result = standard.validate(data)
    return result instanceof Promise ? result.then(outcome) : outcome(result)
  }
}

function describeIssue(
  issue: Extract<StandardResult, { issues: unknown }>['issues'][number],
): string {
  const path = issue.path
    ?.map((part) => String(typeof part === 'object' ? part.key : part))
    .join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}
