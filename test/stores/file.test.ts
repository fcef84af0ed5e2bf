import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFileStore } from '../../src/stores/file.js'
import { randomKey, record, testStore } from '../contracts/store.js'
import { untilLine } from '../support/child.js'
import { fillingDisk } from '../support/full-disk.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

const contractDirs: string[] = []
testStore('file', {
  async make({ now }) {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'tessera-file-'))
    contractDirs.push(dir)
    return createFileStore({ dir, now })
  },
  async cleanup() {
    for (const dir of contractDirs) await fsp.rm(dir, { recursive: true, force: true })
  },
})

describe('createFileStore', () => {
  let base: string

  beforeAll(async () => {
    base = await fsp.mkdtemp(join(tmpdir(), 'tessera-file-'))
    // Child processes run the store compiled to plain JS: a tsx start costs ~0.5 s of CPU,
    // too much for the twenty processes the crash test kills.
    const compiled = await compile(join(root, 'src/stores/file.ts'), join(base, 'compiled'))
    const store = JSON.stringify(pathToFileURL(compiled).href)
    await fsp.writeFile(
      join(base, 'updater.mjs'),
      `import { createFileStore } from ${store}\n${updaterScript}`,
    )
    await fsp.writeFile(
      join(base, 'writer.mjs'),
      `import { createFileStore } from ${store}\n${writerScript}`,
    )
  })

  afterAll(async () => {
    await fsp.rm(base, { recursive: true, force: true })
  })

  /** A fresh, empty store folder. */
  async function freshDir(): Promise<string> {
    return fsp.mkdtemp(join(base, 'store-'))
  }

  it('keeps one private file per session, a marker per user, and no temp files or locks', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const [a, b] = [randomKey(), randomKey()]
    const saved = record({ userId: 'u-1' })

    await store.create(a, saved)
    await store.create(b, record())
    await store.update(a, { set: { x: '1' } })
    await store.update(b, { set: { y: '2' } })
    const names = (await fsp.readdir(dir)).sort()
    const userHash = createHash('sha256').update('u-1').digest('base64url')
    const markers = await fsp.readdir(join(dir, 'users', userHash))
    const onDisk = JSON.parse(await fsp.readFile(join(dir, `${a}.json`), 'utf8'))
    const fileMode = (await fsp.stat(join(dir, `${a}.json`))).mode & 0o777
    await store.close?.()

    expect(names.filter((n) => n.endsWith('.json')).sort()).toEqual(
      [`${a}.json`, `${b}.json`].sort(),
    )
    expect(names.filter((n) => /\.(tmp|lock|stale)$/.test(n))).toEqual([])
    expect(markers).toEqual([a])
    expect(onDisk).toEqual({ ...saved, data: { ...saved.data, x: '1' } })
    expect(fileMode).toBe(0o600)
    expect(await fsp.readdir(dir)).not.toContain(names.find((n) => n.endsWith('.owner')))
  })

  it('rejects keys that could name a path outside its folder', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const bad = [
      '../../etc/passwd',
      '..%2F..%2Fxxxxxxxxxxxx',
      'a'.repeat(15),
      'b'.repeat(129),
      'x/../../y0123456789',
      '*',
    ]

    for (const key of bad) {
      await expect(store.get(key)).rejects.toThrow(TypeError)
      await expect(store.create(key, record())).rejects.toThrow(TypeError)
      await expect(store.update(key, { set: { a: '1' } })).rejects.toThrow(TypeError)
      await expect(store.destroy(key)).rejects.toThrow(TypeError)
    }

    expect(await fsp.readdir(base)).not.toContain('etc')
  })

  it('treats an empty or unparsable session file as missing, and prunes it', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const [empty, garbled] = [randomKey(), randomKey()]
    await store.get(randomKey())
    await fsp.writeFile(join(dir, `${empty}.json`), '')
    await fsp.writeFile(join(dir, `${garbled}.json`), '{"data":{"a":"1"},"userId":nu')

    expect(await store.get(empty)).toBeNull()
    expect(await store.update(garbled, { set: { b: '2' } })).toBe(false)
    expect(await store.prune?.()).toBe(2)
    expect((await fsp.readdir(dir)).filter((n) => n.endsWith('.json'))).toEqual([])
  })

  it('lists the session files it can read, skipping unparsable, expired and temp files', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const t = Date.now()
    const [older, newer, expired, garbled] = [randomKey(), randomKey(), randomKey(), randomKey()]
    await store.create(newer, record({ createdAt: t - 1 }))
    await store.create(older, record({ createdAt: t - 2, userId: 'u-1' }))
    await store.create(expired, record({ expiresAt: t - 1 }))
    await fsp.writeFile(join(dir, `${garbled}.json`), '{"data":')
    await fsp.writeFile(join(dir, `${newer}.json.0123456789ab-1.tmp`), '{}')

    const list = await store.list?.()
    const one = await store.list?.({ limit: 1 })

    expect(list?.map((s) => [s.key, s.userId])).toEqual([
      [older, 'u-1'],
      [newer, null],
    ])
    expect(one?.map((s) => s.key)).toEqual([older])
  })

  it('rejects a write that hits ENOSPC, keeping the previous file whole, and works once space is freed', async () => {
    const dir = await freshDir()
    const disk = fillingDisk()
    const store = createFileStore({ dir, fs: disk.fs })
    const key = randomKey()
    await store.create(key, record({ data: { v: '1' } }))
    const before = await fsp.readFile(join(dir, `${key}.json`), 'utf8')

    disk.full = true
    const updateFailure = await store.update(key, { set: { v: '2' } }).catch((e: unknown) => e)
    const createFailure = await store.create(randomKey(), record()).catch((e: unknown) => e)
    const after = await fsp.readFile(join(dir, `${key}.json`), 'utf8')
    const leftovers = (await fsp.readdir(dir)).filter((n) => /\.(tmp|lock)$/.test(n))
    const readWhileFull = await store.get(key)
    disk.full = false
    const applied = await store.update(key, { set: { v: '3' } })

    expect(updateFailure).toMatchObject({ code: 'ENOSPC' })
    expect(createFailure).toMatchObject({ code: 'ENOSPC' })
    expect(after).toBe(before)
    expect(leftovers).toEqual([])
    expect(readWhileFull?.data).toEqual({ v: '1' })
    expect(applied).toBe(true)
    expect((await store.get(key))?.data).toEqual({ v: '3' })
    expect((await fsp.readdir(dir)).filter((n) => n.endsWith('.json'))).toEqual([`${key}.json`])
  })

  it('waits for a lock held by another live store, and takes it once released', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const key = randomKey()
    await store.create(key, record())
    const lock = join(dir, `${key}.lock`)
    await fsp.writeFile(lock, `${process.pid} 0123456789ab ${hostname()}\n`)
    setTimeout(() => void fsp.unlink(lock), 150)

    const started = Date.now()
    const applied = await store.update(key, { set: { a: '1' } })

    expect(applied).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('breaks at once a lock whose process is dead', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const key = randomKey()
    await store.create(key, record())
    const dead = await deadPid()
    await fsp.writeFile(join(dir, `${key}.lock`), `${dead} 0123456789ab ${hostname()}\n`)

    const started = Date.now()
    const applied = await store.update(key, { set: { a: '1' } })

    expect(applied).toBe(true)
    expect(Date.now() - started).toBeLessThan(500)
    expect((await fsp.readdir(dir)).filter((n) => /\.(lock|stale)$/.test(n))).toEqual([])
  })

  it('drops the markers of gone sessions when listing, and prunes expired sessions with their markers', async () => {
    let t = Date.now()
    const dir = await freshDir()
    const store = createFileStore({ dir, now: () => t })
    const [gone, expiring, live] = [randomKey(), randomKey(), randomKey()]
    await store.create(gone, record({ userId: 'u' }))
    await store.create(expiring, record({ userId: 'u', expiresAt: t + 1000 }))
    await store.create(live, record({ userId: 'v' }))
    await fsp.unlink(join(dir, `${gone}.json`))
    const markers = (user: string) =>
      fsp
        .readdir(join(dir, 'users', createHash('sha256').update(user).digest('base64url')))
        .catch(() => [])

    const listed = await store.listByUser?.('u')
    const markersAfterList = await markers('u')
    t += 2000
    const pruned = await store.prune?.()

    expect(listed?.map((s) => s.key)).toEqual([expiring])
    expect(markersAfterList).toEqual([expiring])
    expect(pruned).toBe(1)
    expect(await markers('u')).toEqual([])
    expect(await markers('v')).toEqual([live])
    expect(await fsp.readdir(join(dir, 'users'))).toHaveLength(1)
  })

  it('loses no update when several processes update one session at once', async () => {
    const dir = await freshDir()
    const store = createFileStore({ dir })
    const key = randomKey()
    await store.create(key, record({ data: {} }))
    const script = join(base, 'updater.mjs')
    const prefixes = ['p', 'q', 'r', 's']
    const children = prefixes.map((prefix) => spawnNode(script, [dir, key, prefix, '50']))

    await Promise.all(children.map((child) => untilLine(child, 'ready')))
    for (const child of children) child.stdin?.write('go\n')
    const outputs = await Promise.all(children.map((child) => untilLine(child, /^(done|lost)/)))
    const data = (await store.get(key))?.data ?? {}

    expect(outputs).toEqual(['done', 'done', 'done', 'done'])
    expect(Object.keys(data)).toHaveLength(200)
    for (const prefix of prefixes) {
      for (let i = 0; i < 50; i++) expect(data[`${prefix}${i}`]).toBe(String(i))
    }
    expect((await fsp.readdir(dir)).filter((n) => /\.(tmp|lock|stale)$/.test(n))).toEqual([])
  })

  it('never leaves a half session when writers are killed mid-write, and recovers their locks', async () => {
    const dir = await freshDir()
    const keys = [randomKey(), randomKey(), randomKey()]
    const setup = createFileStore({ dir })
    for (const key of keys) await setup.create(key, record({ userId: 'u' }))
    const script = join(base, 'writer.mjs')

    // Four writers at a time, each killed at a random moment while it writes: 20 kills.
    let started = 0
    const writer = async (): Promise<void> => {
      while (started < 20) {
        started++
        const child = spawnNode(script, [dir, ...keys])
        const exited = new Promise((resolve) => child.once('exit', resolve))
        await untilLine(child, 'ready')
        await sleep(20 + Math.random() * 180)
        child.kill('SIGKILL')
        await exited
      }
    }
    await Promise.all([writer(), writer(), writer(), writer()])
    const files = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json'))
    const parsed = await Promise.all(
      files.map(async (n) => JSON.parse(await fsp.readFile(join(dir, n), 'utf8'))),
    )
    const store = createFileStore({ dir, staleAfter: 0 })
    const sessions = await Promise.all(keys.map((key) => store.get(key)))
    const before = Date.now()
    const applied = await Promise.all(keys.map((key) => store.update(key, { set: { after: '1' } })))
    const updateTime = Date.now() - before
    await store.prune?.()
    const leftovers = (await fsp.readdir(dir)).filter((n) => !n.endsWith('.json') && n !== 'users')

    expect(files.sort()).toEqual(keys.map((key) => `${key}.json`).sort())
    for (const session of parsed) expect(session).toMatchObject({ userId: 'u' })
    for (const session of sessions) {
      // Either the first version or a whole one written by a writer.
      expect(session?.data.big ?? '"x"').toMatch(/^"x(x{65535}\d*)?"$/)
    }
    expect(applied).toEqual([true, true, true])
    expect(updateTime).toBeLessThan(2000)
    expect(leftovers.filter((n) => !n.endsWith('.owner'))).toEqual([])
    expect(leftovers.filter((n) => n.endsWith('.owner'))).toHaveLength(2)
    await store.close?.()
    await setup.close?.()
  })
})

/** A child process that updates one session `n` times, five at a time, once told to go. */
const updaterScript = `
const [dir, key, prefix, n] = process.argv.slice(2)
const store = createFileStore({ dir })
await store.get(key)
process.stdout.write('ready\\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
let ok = true
for (let i = 0; i < Number(n); i += 5) {
  const round = [0, 1, 2, 3, 4].map((j) => store.update(key, { set: { [prefix + (i + j)]: String(i + j) } }))
  ok = (await Promise.all(round)).every(Boolean) && ok
}
await store.close()
process.stdout.write(ok ? 'done\\n' : 'lost\\n')
process.exit(0)
`

/** A child process that rewrites three sessions with large values until it is killed. */
const writerScript = `
const keys = process.argv.slice(3)
const store = createFileStore({ dir: process.argv[2] })
const big = 'x'.repeat(65536)
await store.get(keys[0])
process.stdout.write('ready\\n')
for (let i = 0; ; i++) {
  await Promise.all(keys.map((key, k) => {
    const value = JSON.stringify(big + i)
    if ((i + k) % 3 !== 0) return store.update(key, { set: { big: value } })
    const t = Date.now()
    const data = { big: value, filler: JSON.stringify('y'.repeat(65536)) }
    return store.create(key, { data, userId: 'u', createdAt: t, lastSeenAt: t, expiresAt: t + 3600000, permanent: false, userAgent: null, ip: null })
  }))
}
`

function spawnNode(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
}

/**
 * Transpiles `entry` and the relative modules it imports into `outDir` as ES modules;
 * returns the path of the compiled entry.
 */
async function compile(entry: string, outDir: string): Promise<string> {
  const src = join(root, 'src')
  const done = new Set<string>()
  const visit = async (path: string): Promise<void> => {
    if (done.has(path)) return
    done.add(path)
    const { outputText } = ts.transpileModule(await fsp.readFile(path, 'utf8'), {
      fileName: path,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    })
    const out = join(outDir, relative(src, path)).replace(/\.ts$/, '.js')
    await fsp.mkdir(dirname(out), { recursive: true })
    await fsp.writeFile(out, outputText)
    for (const [, specifier] of outputText.matchAll(/\bfrom\s+['"](\.\.?\/[^'"]+)\.js['"]/g)) {
      await visit(resolve(dirname(path), `${specifier}.ts`))
    }
  }
  await visit(entry)
  await fsp.writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n')
  return join(outDir, relative(src, entry)).replace(/\.ts$/, '.js')
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'])
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
