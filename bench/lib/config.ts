/**
 * Settings shared by the benchmarks: secrets, service URLs, and the names under which a run
 * keeps its Redis keys, Postgres schema and SQLite files, so it can remove exactly those.
 * @module
 */
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fixed 32+ byte secret: benchmarks need no real one. */
export const secret = 'tessera-bench-secret-not-for-production-0123456789'

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Everything a run writes is named after its run id. */
export function redisPrefix(runId: string, system: string): string {
  return `tessera-bench:${runId}:${system}:`
}

export function redisRunPattern(runId: string): string {
  return `tessera-bench:${runId}:*`
}

export function pgSchema(runId: string): string {
  return `tessera_bench_${runId.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`
}

export function dataDir(runId: string): string {
  return join(tmpdir(), `tessera-bench-${runId}`)
}

export function newRunId(): string {
  return `${Date.now().toString(36)}${process.pid.toString(36)}`
}

/** The username every login uses. */
export const username = 'admin'
export const loginBody = `username=${username}`
