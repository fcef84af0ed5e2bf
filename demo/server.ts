/**
 * Starts the demo: `npm start`. Settings come from the environment (see README).
 * @module
 */
import { createServer } from 'node:http'
import { isSessionError } from 'tessera'
import { createApp } from './app.js'
import { loadConfig } from './config.js'
import { checkStore, logStoreErrors, startupProblem } from './store-health.js'

try {
  const config = await loadConfig()
  if (config.notice) console.log(`tessera demo: ${config.notice}`)
  logStoreErrors(config.sessions)
  if (config.sessions.mode === 'store') {
    const problem = await checkStore(config.sessions.store)
    if (problem) console.error(startupProblem(config.storeLabel, problem))
  }
  const instance = `${config.host}:${config.port}`
  const server = createServer(
    createApp(config.sessions, config.storeLabel, {
      inspector: config.inspector,
      instance,
      secret: config.secrets,
      secureCookies: config.secureCookies,
      cookieCheck: config.cookieCheck,
    }),
  )
  server.on('error', (error: NodeJS.ErrnoException) => {
    console.error(
      error.code === 'EADDRINUSE'
        ? `tessera demo: port ${config.port} is in use; stop what runs there or set PORT`
        : `tessera demo: ${error.message}`,
    )
    process.exit(1)
  })
  server.listen(config.port, config.host, () => {
    const inspector = config.inspector ? `, inspector at /inspect` : ''
    console.log(`tessera demo: http://${instance} (sessions: ${config.storeLabel}${inspector})`)
  })
  const stop = () => {
    server.close()
    server.closeAllConnections()
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
