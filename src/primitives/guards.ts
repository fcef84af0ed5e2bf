/**
 * The limits every reader and writer of session data applies to untrusted structure: which
 * object keys may never be set, and how deep containers may nest.
 * @module
 */

/**
 * Keys that reach an object's prototype when assigned (`__proto__`) or that code commonly
 * follows to one (`constructor`, `prototype`): refused as session keys at every depth, in
 * every format, both ways.
 */
export const forbiddenKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Whether `key` is one of `forbiddenKeys`. */
export function isForbiddenKey(key: string): boolean {
  // The three are 9 or 11 characters long: most keys are ruled out without hashing them.
  return (key.length === 9 || key.length === 11) && forbiddenKeys.has(key)
}

/**
 * How deep session data may nest, refused both ways: anything written can be read back, deep
 * input cannot exhaust the stack, and a cycle fails cleanly. No real session comes close.
 */
export const maxDepth = 512
