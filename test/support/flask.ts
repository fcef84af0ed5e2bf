/**
 * Running a real Flask app beside a tessera app, for the interop tests.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from './http.js'

/** A Python that imports flask, or null. */
export function flaskPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import flask'], { stdio: 'ignore' })
      return python
    } catch {
      // try the next one
    }
  }
  return null
}

/** Null when Flask can run here, else a one-line reason. */
export function flaskAvailable(): string | null {
  return flaskPython()
    ? null
    : "no Python with Flask found; install Debian's python3-flask (.ci/run does)"
}

/** Starts `test/integration/flask_app.py` with `secret`; resolves once it answers. */
export async function startFlask(secret: string): Promise<{ url: string; stop(): void }> {
  const python = flaskPython()
  if (!python) throw new Error('no Python with Flask')
  const port = await freePort()
  const script = fileURLToPath(new URL('../integration/flask_app.py', import.meta.url))
  const child: ChildProcess = spawn(python, [script, String(port)], {
    env: { ...process.env, SECRET_KEY: secret, FLASK_DEBUG: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Flask exited: ${stderr}`)
    try {
      await fetch(url)
      return { url, stop: () => child.kill() }
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  child.kill()
  throw new Error(`Flask did not start: ${stderr}`)
}
