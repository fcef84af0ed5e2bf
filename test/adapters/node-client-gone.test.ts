/**
 * The node adapter and a client that leaves mid-request (issue 13, item 4): `onClientGone`,
 * not `onError`, and nothing logged.
 */
import { createServer, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { createSessions } from 'tessera'
import { withSession } from 'tessera/adapters/node'
import { expect, it, vi } from 'vitest'
import { listen } from '../support/http.js'

it('a body cut short by the client calls onClientGone, not onError, and logs nothing', async () => {
  const sessions = createSessions({ secret: 'x'.repeat(32) })
  const onError = vi.fn()
  let gone = 0
  let ended: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    ended = resolve
  })
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
  const app = await listen(
    createServer(
      withSession(
        sessions,
        async (req: IncomingMessage) => {
          try {
            for await (const _ of req) {
              // read to the end, which never comes
            }
          } finally {
            setTimeout(ended, 20)
          }
        },
        { onError, onClientGone: () => gone++ },
      ),
    ),
  )
  try {
    const socket = connect(Number(new URL(app.url).port), '127.0.0.1', () => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nusername=bob')
      setTimeout(() => socket.destroy(), 50)
    })
    socket.on('error', () => {})
    await done
    expect(gone).toBe(1)
    expect(onError).not.toHaveBeenCalled()
    expect(errors).not.toHaveBeenCalled()
  } finally {
    errors.mockRestore()
    await app.close()
  }
})
