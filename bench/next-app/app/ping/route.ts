/** `GET /ping`: never looks at the session. @module */
import { textHeaders } from '../../lib/sessions'

export const dynamic = 'force-dynamic'

export function GET(): Response {
  return new Response('pong', { headers: textHeaders })
}
