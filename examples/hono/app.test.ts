import { describeTutorialApp } from '../../test/contracts/tutorial.js'
import { createApp } from './app.js'

// Hono's `html` template escapes with named entities, where the other examples write numeric ones.
describeTutorialApp(
  'Hono',
  async (sessions) => {
    const app = createApp(sessions)
    return { fetch: async (path, init) => app.request(path, init), close: async () => {} }
  },
  { escapedName: '&lt;b&gt;Ada&lt;/b&gt;' },
)
