/**
 * `npx tsx bench/cluster.ts`: a local Redis Cluster (three masters, three replicas) for the
 * benchmark's `redis-cluster` systems, up until Ctrl-C. It prints the `REDIS_CLUSTER_URL` to
 * give the benchmark:
 *
 *   npx tsx bench/cluster.ts &
 *   REDIS_CLUSTER_URL=redis-cluster://… npm run bench -- --only tessera-node-redis-cluster,tessera-node-redis-cluster-wait
 * @module
 */
import { LocalRedisCluster } from '../test/support/redis-cluster.js'

const cluster = await LocalRedisCluster.start()
console.log(`REDIS_CLUSTER_URL=${cluster.url}`)
const stop = () => {
  cluster.stop().finally(() => process.exit(0))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
setInterval(() => {}, 1 << 30)
