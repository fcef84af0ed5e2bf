/**
 * HAProxy in front of the cluster demo's instances: a config in a temp folder, round robin over
 * every instance for every request, no stickiness, and HAProxy itself as a child process.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Null when the `haproxy` binary runs here, else a one-line reason with the fix. */
export function haproxyMissing(): string | null {
  const probe = spawnSync('haproxy', ['-v'], { encoding: 'utf8' })
  return probe.error || probe.status !== 0
    ? 'haproxy is not on PATH; install it (Debian: apt-get install haproxy) or run the instances without a balancer (--no-balancer)'
    : null
}

/** Where HAProxy listens and the instances it spreads requests over. */
export interface BalancerSetup {
  host: string
  port: number
  /** The instances, as `127.0.0.1:5001`. */
  backends: string[]
}

/**
 * The config: every request (not every connection) goes to the next instance in turn, since
 * HAProxy balances each request of a kept-alive client connection on its own in HTTP mode. No
 * cookie, no `balance source`: the store is what makes any instance able to serve any request.
 */
export function haproxyConfig({ host, port, backends }: BalancerSetup): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  option forwardfor',
    'frontend demo',
    `  bind ${host}:${port}`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    ...backends.map((address, i) => `  server i${i + 1} ${address} check inter 1s`),
    '',
  ].join('\n')
}

/** A running HAProxy; `stop()` ends it and removes its config. */
export interface Balancer {
  child: ChildProcess
  stop(): void
}

/** Writes the config to a temp folder and starts HAProxy in the foreground on it. */
export function startHaproxy(setup: BalancerSetup): Balancer {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-haproxy-'))
  const config = join(dir, 'haproxy.cfg')
  writeFileSync(config, haproxyConfig(setup))
  // -db: stay in the foreground, so this process owns it and sees it exit.
  const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  return {
    child,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    },
  }
}
