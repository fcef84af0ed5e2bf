'use server'
/**
 * The login Server Action: a new session id (so an id planted before login is worthless), the
 * name in the session, and the cookie set through `cookies()` by `session.save()`.
 * @module
 */
import { cookies, headers } from 'next/headers'
import { redirect } from 'next/navigation'
import { getSession } from 'tessera/adapters/next'
import { sessions } from '../../lib/sessions'

export async function login(form: FormData): Promise<void> {
  const username = String(form.get('username') ?? '').trim()
  if (!username) redirect('/login')
  const session = await getSession(sessions(), await cookies(), { headers: await headers() })
  session.regenerate()
  session.set('username', username)
  await session.save()
  redirect('/')
}
