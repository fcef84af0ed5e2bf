/**
 * `POST /login`: a new session with the form's username, then a redirect home. The cookie goes
 * out through `cookies()`, which Next adds to this response.
 * @module
 */
import { cookies } from 'next/headers'
import { getSession } from 'tessera/adapters/next'
import { sessions } from '../../lib/sessions'

export const dynamic = 'force-dynamic'

export async function POST(request: Request): Promise<Response> {
  const name = new URLSearchParams(await request.text()).get('username') ?? 'admin'
  const all = sessions()
  if (all) {
    const session = await getSession(all, await cookies())
    session.regenerate()
    session.set('username', name)
    await session.save()
  }
  return new Response(null, { status: 302, headers: { location: '/' } })
}
