/**
 * `/logout`, a Route Handler: pops the name and redirects home. `redirect()` throws, so the
 * session is saved before it.
 * @module
 */
import { cookies } from 'next/headers'
import { redirect } from 'next/navigation'
import { getSession } from 'tessera/adapters/next'
import { sessions } from '../../lib/sessions'

export async function GET(): Promise<never> {
  const session = await getSession(sessions(), await cookies())
  session.pop('username')
  await session.save()
  redirect('/')
}
