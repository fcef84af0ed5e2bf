/**
 * `GET /`: who is logged in, read from the session (committed, as every other adapter does at
 * the end of a request; nothing changed, so no cookie goes out).
 * @module
 */
import { cookies } from 'next/headers'
import { getSession } from 'tessera/adapters/next'
import { anonymous, sessions, textHeaders } from '../lib/sessions'

// Rendered per request, as the other systems answer it: never prerendered at build.
export const dynamic = 'force-dynamic'

export async function GET(): Promise<Response> {
  const all = sessions()
  if (!all) return new Response(anonymous, { headers: textHeaders })
  const session = await getSession(all, await cookies())
  const name = session.get('username')
  await session.save()
  return new Response(name ? `Logged in as ${name}` : anonymous, { headers: textHeaders })
}
