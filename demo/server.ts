/**
 * Starts the demo: `npm start`. Settings come from the environment (see README).
 * @module
 */
import { createServer } from 'node:http'
import { isSessionError } from '../src/errors.js'
import { createApp } from './app.js'
import { loadConfig } from './config.js'

try {
  const config = await loadConfig()
  if (config.notice) console.log(`tessera demo: ${config.notice}`)
  const server = createServer(createApp(config.sessions, config.storeLabel))
  server.listen(config.port, config.host, () => {
    console.log(
      `tessera demo: http://${config.host}:${config.port} (sessions: ${config.storeLabel})`,
    )
  })
  const stop = () => {
    server.close()
    void config.sessions.close()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} catch (error) {
  if (isSessionError(error)) {
    console.error(`tessera demo: ${error.message}`)
    process.exit(1)
  }
  throw error
}
