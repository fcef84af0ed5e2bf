import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli/main.js'
import { createSessions } from '../src/session/sessions.js'
import { createSqliteStore } from '../src/stores/sqlite.js'

const secret = 'cli-test-secret-that-is-32-bytes-ok!'

async function run(...argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('tessera secret', () => {
  it('prints 32 random bytes as base64url', async () => {
    const a = await run('secret')
    const b = await run('secret')

    expect(a.code).toBe(0)
    expect(a.out).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(b.out).not.toBe(a.out)
  })
})

describe('tessera cookie', () => {
  it('decodes a cookie real Flask made', async () => {
    const { code, out } = await run(
      'cookie',
      'decode',
      'eyJ1c2VybmFtZSI6ImFkbWluIn0.aVX23g.3W-oIHNfbrFNDEzkGKEkTwRe8Ww',
      '--secret',
      'dev-secret-change-me',
      '--format',
      'flask',
      '--now',
      '1767241500',
    )

    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual({ username: 'admin' })
  })

  it('encodes and decodes native cookies, printing tagged values in tagged form', async () => {
    const json = '{"when":{" d":"2026-01-01T00:00:00.000Z"},"n":1}'
    const encoded = await run('cookie', 'encode', json, '--secret', secret, '--now', '1767225600')

    const decoded = await run(
      'cookie',
      'decode',
      encoded.out,
      '--secret',
      secret,
      '--now',
      '1767225600',
    )

    expect(encoded.code).toBe(0)
    expect(decoded.code).toBe(0)
    expect(JSON.parse(decoded.out)).toEqual(JSON.parse(json))
  })

  it('exits 1 with the reason on stderr for an invalid cookie', async () => {
    const expired = await run(
      'cookie',
      'encode',
      '{"a":1}',
      '--secret',
      secret,
      '--now',
      '1000000000',
    )
    const { code, out, err } = await run(
      'cookie',
      'decode',
      expired.out,
      '--secret',
      secret,
      '--max-age',
      '60',
      '--now',
      '1000000061',
    )
    const tampered = await run(
      'cookie',
      'decode',
      `${expired.out.slice(0, -3)}AAA`,
      '--secret',
      secret,
    )

    expect(code).toBe(1)
    expect(out).toBe('')
    expect(err).toMatch(/older than --max-age \(expired\)/)
    expect(tampered.code).toBe(1)
  })

  it('accepts an older secret given as --fallback', async () => {
    const old = 'an-older-cli-secret-that-is-32-bytes'
    const encoded = await run('cookie', 'encode', '{"a":1}', '--secret', old)

    const decoded = await run(
      'cookie',
      'decode',
      encoded.out,
      '--secret',
      secret,
      '--fallback',
      old,
    )

    expect(decoded.code).toBe(0)
  })

  it('exits 2 for bad usage, with the usage text', async () => {
    const missing = await run('cookie', 'decode', 'x')
    const unknown = await run('frobnicate')
    const badFlag = await run('cookie', 'decode', 'x', '--secret', secret, '--bogus')

    expect(missing.code).toBe(2)
    expect(missing.err).toMatch(/--secret is required/)
    expect(unknown.code).toBe(2)
    expect(unknown.err).toMatch(/Usage: tessera/)
    expect(badFlag.code).toBe(2)
  })
})

describe('tessera sessions and migrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'))
  const url = `sqlite:${join(dir, 'sessions.db')}`
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  async function seed(user: string, idleTimeout = 3600) {
    const store = createSqliteStore({ path: join(dir, 'sessions.db') })
    const sessions = createSessions({ secret, store, idleTimeout, pruneInterval: 0 })
    const session = sessions.open(undefined, { userAgent: 'TestAgent/1.0', ip: '127.0.0.9' })
    session.set('x', 1)
    session.setUser(user)
    await sessions.commit(session)
    await sessions.close()
  }

  it('migrates, lists, revokes and prunes', async () => {
    expect((await run('migrate', '--store', url)).code).toBe(0)
    await seed('alice')
    await seed('alice')
    await seed('bob')

    const all = await run('sessions', 'list', '--store', url)
    const alice = await run('sessions', 'list', '--store', url, '--user', 'alice')
    const revoked = await run('sessions', 'revoke', '--store', url, '--user', 'alice')
    const after = await run('sessions', 'list', '--store', url, '--user', 'alice')
    const pruned = await run('sessions', 'prune', '--store', url)

    expect(all.out.split('\n')).toHaveLength(4)
    expect(alice.out).toContain('TestAgent/1.0')
    expect(alice.out).toContain('127.0.0.9')
    expect(alice.err).toBe('2 live sessions of user alice')
    expect(revoked.out).toBe('revoked 2 sessions of user alice')
    expect(after.err).toBe('0 live sessions of user alice')
    expect(pruned.out).toBe('pruned 0 expired sessions')
  })

  it('revokes one session by its key', async () => {
    await seed('carol')
    const key = (await run('sessions', 'list', '--store', url, '--user', 'carol')).out
      .split('\n')[1]!
      .split('\t')[0]!

    const revoked = await run('sessions', 'revoke', '--store', url, '--id', key)
    const after = await run('sessions', 'list', '--store', url, '--user', 'carol')

    expect(revoked.code).toBe(0)
    expect(after.err).toBe('0 live sessions of user carol')
  })

  it('exits 2 for revoke without --user or --id, and for an unknown store', async () => {
    expect((await run('sessions', 'revoke', '--store', url)).code).toBe(2)
    expect((await run('sessions', 'list', '--store', 'mongodb://x')).code).toBe(2)
  })
})

describe('store paths: reading commands never create, only migrate does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-paths-'))
  // A unique name at the filesystem root, where `sqlite://NAME/…` used to put its database.
  const rootName = `tessera-cli-test-${process.pid}-${Date.now()}`
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(join('/', rootName), { recursive: true, force: true })
  })

  it('fails with exit 1 naming the path for list, revoke and prune on a missing sqlite file', async () => {
    const path = join(dir, 'missing', 'sessions.db')

    const list = await run('sessions', 'list', '--store', `sqlite:${path}`)
    const revoke = await run('sessions', 'revoke', '--store', `sqlite:${path}`, '--user', 'a')
    const prune = await run('sessions', 'prune', '--store', `sqlite:${path}`)

    for (const result of [list, revoke, prune]) {
      expect(result.code).toBe(1)
      expect(result.out).toBe('')
      expect(result.err).toContain(path)
      expect(result.err).toContain(`tessera migrate --store sqlite:${path}`)
    }
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })

  it('does not create a missing sqlite file whose folder exists', async () => {
    const path = join(dir, 'absent.db')

    const list = await run('sessions', 'list', '--store', `sqlite:${path}`)

    expect(list.code).toBe(1)
    expect(existsSync(path)).toBe(false)
  })

  it('creates the sqlite database with migrate, after which reading commands work', async () => {
    const path = join(dir, 'made', 'sessions.db')

    const migrated = await run('migrate', '--store', `sqlite:${path}`)
    const list = await run('sessions', 'list', '--store', `sqlite:${path}`)

    expect(migrated.code).toBe(0)
    expect(list.code).toBe(0)
    expect(list.err).toBe('0 live sessions')
  })

  it('reads sqlite:///ABSOLUTE as an absolute path', async () => {
    const path = join(dir, 'three-slashes.db')
    expect(path.startsWith('/')).toBe(true)

    const missing = await run('sessions', 'list', '--store', `sqlite://${path}`)
    const migrated = await run('migrate', '--store', `sqlite://${path}`)
    const list = await run('sessions', 'list', '--store', `sqlite://${path}`)

    expect(missing.code).toBe(1)
    expect(missing.err).toContain(path)
    expect(migrated.code).toBe(0)
    expect(existsSync(path)).toBe(true)
    expect(list.code).toBe(0)
  })

  it('refuses sqlite://RELATIVE, naming the right forms, and creates nothing', async () => {
    const list = await run('sessions', 'list', '--store', `sqlite://${rootName}/x.db`)
    const migrate = await run('migrate', '--store', `sqlite://${rootName}/x.db`)

    for (const result of [list, migrate]) {
      expect(result.code).toBe(2)
      expect(result.err).toContain(`sqlite:${rootName}/x.db`)
      expect(result.err).toContain('sqlite:///')
    }
    expect(existsSync(join('/', rootName))).toBe(false)
    expect(existsSync(rootName)).toBe(false)
  })

  it('fails with exit 1 naming the folder for reading commands on a missing file: folder', async () => {
    const folder = join(dir, 'no-such-folder')

    const list = await run('sessions', 'list', '--store', `file:${folder}`)
    const revoke = await run('sessions', 'revoke', '--store', `file:${folder}`, '--id', 'k')
    const prune = await run('sessions', 'prune', '--store', `file:${folder}`)

    for (const result of [list, revoke, prune]) {
      expect(result.code).toBe(1)
      expect(result.err).toContain(folder)
      expect(result.err).toContain(`tessera migrate --store file:${folder}`)
    }
    expect(existsSync(folder)).toBe(false)
  })

  it('creates the file: folder with migrate, after which reading commands work', async () => {
    const folder = join(dir, 'file-store')

    const migrated = await run('migrate', '--store', `file://${folder}`)
    const list = await run('sessions', 'list', '--store', `file:${folder}`)

    expect(migrated.code).toBe(0)
    expect(existsSync(folder)).toBe(true)
    expect(list.code).toBe(0)
    expect(list.err).toBe('0 live sessions')
  })

  it('refuses file://RELATIVE the same way as sqlite://', async () => {
    const list = await run('sessions', 'list', '--store', `file://${rootName}`)

    expect(list.code).toBe(2)
    expect(list.err).toContain(`file:${rootName}`)
    expect(list.err).toContain('file:///')
    expect(existsSync(join('/', rootName))).toBe(false)
  })

  it('says when the path is of the wrong kind', async () => {
    const list = await run('sessions', 'list', '--store', `sqlite:${dir}`)
    const files = await run('sessions', 'list', '--store', `file:${join(dir, 'three-slashes.db')}`)

    expect(list.code).toBe(1)
    expect(list.err).toContain(dir)
    expect(list.err).toMatch(/folder/)
    expect(files.code).toBe(1)
    expect(files.err).toMatch(/not a folder/)
  })
})

describe('the installed command', () => {
  // --offline: the package's own bin must answer, never a download of another "tessera".
  it('runs as `npx tessera` after npm ci', { timeout: 60_000 }, async () => {
    const { stdout } = await promisify(execFile)('npx', ['--offline', 'tessera', 'secret'], {
      cwd: process.cwd(),
    })

    expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
