import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli/main.js'
import { createSessions } from '../src/session/sessions.js'
import { createSqliteStore } from '../src/stores/sqlite.js'
import { sessionCookie } from '../src/testing/index.js'

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

  it('holds a cookie to its own lifetime (session.maxAge) rather than --max-age', async () => {
    const sessions = createSessions({ secret, now: () => 1_000_000_000_000 })
    const session = sessions.open(undefined)
    session.set('a', 1)
    session.maxAge = 7200
    const setCookie = (await sessions.commit(session)).setCookie!
    const value = setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'))
    const decode = (now: number) =>
      run('cookie', 'decode', value, '--secret', secret, '--max-age', '60', '--now', String(now))

    const within = await decode(1_000_003_600)
    const past = await decode(1_000_007_201)

    expect(within).toMatchObject({ code: 0, out: '{"a":1}' })
    expect(past.err).toMatch(/expired/)
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

describe('tessera --version and --help', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }

    const long = await run('--version')
    const short = await run('-v')

    expect(long).toEqual({ code: 0, out: pkg.version, err: '' })
    expect(short.out).toBe(pkg.version)
  })

  it.each([
    [['secret'], 'tessera secret'],
    [['cookie', 'decode'], 'tessera cookie decode COOKIE... --secret KEY'],
    [['cookie', 'encode'], 'tessera cookie encode JSON --secret KEY'],
    [['sessions', 'list'], 'tessera sessions list --store URL'],
    [['sessions', 'revoke'], 'tessera sessions revoke --store URL'],
    [['sessions', 'prune'], 'tessera sessions prune --store URL'],
    [['migrate'], 'tessera migrate --store URL'],
  ])('prints the help of %j alone with --help, exit 0', async (command, synopsis) => {
    const help = await run(...command, '--help')
    const short = await run(...command, '-h')
    const viaHelp = await run('help', ...command)

    expect(help.code).toBe(0)
    expect(help.err).toBe('')
    expect(help.out).toContain(`Usage: ${synopsis}`)
    // Only this command's help, not the whole list.
    expect(help.out).not.toContain('Commands:')
    expect(short.out).toBe(help.out)
    expect(viaHelp.out).toBe(help.out)
  })

  it('lists the subcommands for `cookie --help` and `sessions --help`', async () => {
    const cookie = await run('cookie', '--help')
    const sessions = await run('sessions', '--help')

    expect(cookie.code).toBe(0)
    expect(cookie.out).toContain('tessera cookie decode')
    expect(cookie.out).toContain('tessera cookie encode')
    expect(cookie.out).not.toContain('sessions list')
    expect(sessions.code).toBe(0)
    expect(sessions.out).toContain('tessera sessions prune')
    expect(sessions.out).not.toContain('cookie decode')
  })

  it('shows every command in the README as `tessera --help` shows it', async () => {
    const readme = readFileSync('README.md', 'utf8')
    const section = readme.slice(readme.indexOf('## Command line'))
    const start = section.indexOf('```sh') + '```sh'.length
    const block = section.slice(start, section.indexOf('```', start))
    const readmeLines = block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').replace(/\s+/g, ' ').trim())
      .filter((line) => line.startsWith('npx tessera '))
      .map((line) => line.slice('npx '.length))
    const helpLines = (await run('--help')).out
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('tessera ') && !line.startsWith('tessera <'))

    expect(helpLines.length).toBeGreaterThan(6)
    for (const command of ['secret', 'cookie decode', 'cookie encode', 'sessions list']) {
      const help = (await run(...command.split(' '), '--help')).out
      const synopsis = help.slice('Usage: '.length, help.indexOf('\n\n'))
      expect(readmeLines, command).toContain(synopsis.replace(/\s+/g, ' '))
    }
    expect(readmeLines.map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual(
      expect.arrayContaining(helpLines.map((line) => line.split(' ').slice(0, 3).join(' '))),
    )
  })
})

describe('tessera cookie decode, as pasted from a browser', () => {
  it('accepts the value with its `session=` prefix, and a trailing `;`', async () => {
    const encoded = await run('cookie', 'encode', '{"a":1}', '--secret', secret)

    const prefixed = await run('cookie', 'decode', `session=${encoded.out}`, '--secret', secret)
    const withSemicolon = await run(
      'cookie',
      'decode',
      ` session=${encoded.out}; `,
      '--secret',
      secret,
    )

    expect(prefixed).toEqual({ code: 0, out: '{"a":1}', err: '' })
    expect(withSemicolon.out).toBe('{"a":1}')
  })

  it('takes the cookie name from the prefix, which the signature covers', async () => {
    const encoded = await run('cookie', 'encode', '{"a":1}', '--secret', secret, '--name', 'sid')

    const decoded = await run('cookie', 'decode', `sid=${encoded.out}`, '--secret', secret)
    const clash = await run(
      'cookie',
      'decode',
      `sid=${encoded.out}`,
      '--secret',
      secret,
      '--name',
      'x',
    )

    expect(decoded.out).toBe('{"a":1}')
    expect(clash.code).toBe(2)
    expect(clash.err).toMatch(/"sid".*--name x/)
  })

  it('recognises an encrypted (e2.) cookie without --encrypted', async () => {
    const encoded = await run('cookie', 'encode', '{"a":1}', '--secret', secret, '--encrypted')

    const decoded = await run('cookie', 'decode', encoded.out, '--secret', secret)
    const pasted = await run('cookie', 'decode', `session=${encoded.out}`, '--secret', secret)

    expect(encoded.out).toMatch(/^e2\./)
    expect(decoded).toEqual({ code: 0, out: '{"a":1}', err: '' })
    expect(pasted.out).toBe('{"a":1}')
  })

  it('suggests --format flask for a Flask cookie decoded as native', async () => {
    const { code, err } = await run(
      'cookie',
      'decode',
      'eyJ1c2VybmFtZSI6ImFkbWluIn0.aVX23g.3W-oIHNfbrFNDEzkGKEkTwRe8Ww',
      '--secret',
      secret,
    )

    expect(code).toBe(1)
    expect(err).toMatch(/--format flask/)
  })
})

describe('tessera cookie decode, a chunked session', () => {
  const sessions = createSessions<{ notes?: string }>({ secret, cookie: { chunks: true } })
  const notes = 'n'.repeat(6000)

  it('joins the pieces given as one Cookie header, other cookies left out', async () => {
    const header = await sessionCookie(sessions, { notes })

    const decoded = await run('cookie', 'decode', `theme=dark; ${header}`, '--secret', secret)

    expect(header).toMatch(/^session\.0=[^;]+; session\.1=[^;]+(; session\.2=[^;]+)?$/)
    expect(decoded).toEqual({ code: 0, out: JSON.stringify({ notes }), err: '' })
  })

  it('joins the pieces given as arguments, in any order', async () => {
    const pieces = (await sessionCookie(sessions, { notes })).split('; ').reverse()

    const decoded = await run('cookie', 'decode', ...pieces, '--secret', secret)

    expect(decoded.out).toBe(JSON.stringify({ notes }))
  })

  it('names a missing piece as such, not as a bad signature', async () => {
    const pieces = (await sessionCookie(sessions, { notes })).split('; ')

    const missing = await run('cookie', 'decode', ...pieces.slice(1), '--secret', secret)
    const doubled = await run('cookie', 'decode', pieces[0]!, ...pieces, '--secret', secret)

    expect(missing.code).toBe(2)
    expect(missing.err).toMatch(/session\.0, session\.1, … must be given once, with none missing/)
    expect(doubled.code).toBe(2)
  })

  it('asks which cookie is the session when the header holds several and none is "session"', async () => {
    const named = createSessions({ secret, cookie: { name: 'sid', chunks: true } })
    const header = await sessionCookie(named, { notes })

    const unsure = await run('cookie', 'decode', `theme=dark; ${header}`, '--secret', secret)
    const told = await run(
      'cookie',
      'decode',
      `theme=dark; ${header}`,
      '--secret',
      secret,
      '--name',
      'sid',
    )

    expect(unsure.code).toBe(2)
    expect(unsure.err).toMatch(/the cookies are theme, sid; say it with --name/)
    expect(told.out).toBe(JSON.stringify({ notes }))
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
  it('runs as `npx tessera` from the build (npm test makes it first)', {
    timeout: 60_000,
  }, async () => {
    const { stdout } = await promisify(execFile)('npx', ['--offline', 'tessera', 'secret'], {
      cwd: process.cwd(),
    })

    expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
