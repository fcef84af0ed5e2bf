/**
 * `/`, a Server Component: it reads the session and changes nothing (the proxy slides its
 * expiry). The logout link is a plain `<a>`: a `<Link>` would prefetch `/logout`.
 * @module
 */
import { cookies } from 'next/headers'
import { readSession } from 'tessera/adapters/next'
import { sessions } from '../lib/sessions'

export default async function Home() {
  const jar = await cookies()
  const session = await readSession(sessions(), jar)
  const username = session.get('username')
  return username ? (
    <>
      <p>{`Logged in as ${username}`}</p>
      <p>
        <a href="/logout">Log out</a>
      </p>
    </>
  ) : (
    <>
      <p>You are not logged in</p>
      <p>
        <a href="/login">Log in</a>
      </p>
    </>
  )
}
