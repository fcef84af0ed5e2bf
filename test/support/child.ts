import type { ChildProcess } from 'node:child_process'

/** Resolves with the first line of the child's output that matches. */
export function untilLine(child: ChildProcess, pattern: string | RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString()
      for (const line of buffer.split('\n')) {
        if (typeof pattern === 'string' ? line === pattern : pattern.test(line)) {
          child.stdout?.off('data', onData)
          resolve(line)
          return
        }
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before "${pattern}"`)))
  })
}
