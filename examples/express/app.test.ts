import { createServer } from 'node:http'
import { describeTutorialApp } from '../../test/contracts/tutorial.js'
import { listen } from '../../test/support/http.js'
import { createApp } from './app.js'

describeTutorialApp('Express', async (sessions) => listen(createServer(createApp(sessions))))
