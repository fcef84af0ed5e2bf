import { describeTutorialApp } from '../../test/contracts/tutorial.js'
import { injector } from '../../test/support/inject.js'
import { createApp } from './app.js'

describeTutorialApp('Fastify', async (sessions) => injector(await createApp(sessions)))
