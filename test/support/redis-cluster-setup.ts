/**
 * Vitest's global setup: one local Redis Cluster for the whole run (see `redis-cluster.ts`),
 * its URL handed to every test file as `REDIS_CLUSTER_URL`. The nodes are joined in the
 * background, so a run that never uses the cluster does not wait for it; the suites that do
 * wait in `redisClusterReady`. A `REDIS_CLUSTER_URL` set beforehand is used as it is.
 * @module
 */
import { LocalRedisCluster, redisClusterAvailable } from './redis-cluster.js'

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.REDIS_CLUSTER_URL || redisClusterAvailable() !== null) return undefined
  const cluster = await LocalRedisCluster.reserve()
  process.env.REDIS_CLUSTER_URL = cluster.url
  const joining = cluster.join().catch((error: Error) => {
    // The suites report it: they find no whole cluster at the URL.
    console.warn(`[tessera] the local Redis Cluster did not start: ${error.message}`)
  })
  return async () => {
    await joining
    await cluster.stop()
  }
}
