/**
 * WAL checkpoints off the event loop, for a database file the SQLite store opened itself.
 *
 * With `synchronous = NORMAL` a commit does not fsync; a checkpoint does, twice (the WAL, then the
 * database). SQLite's auto-checkpoint runs it inside whichever commit takes the WAL past 1000
 * pages, so on the event loop, where it was most of a write's time. Here the main connection's
 * auto-checkpoint is turned off and a worker thread with a connection of its own checkpoints
 * instead, PASSIVE, so the main connection goes on writing meanwhile.
 *
 * A PASSIVE checkpoint that copied every frame lets the next commit start the WAL again from its
 * first frame, if no reader still uses the old ones. Under continuous writes that never happens: frames are appended while the worker
 * copies, so the WAL is never wholly copied when a commit starts, and it would grow without end.
 * So once it is `limit` frames long, the worker asks the store to hold its writes (queued, not
 * blocked: the event loop keeps serving), copies the last frames with a RESTART checkpoint, which
 * also waits for readers of the old frames to finish, and lets the writes go: the first of them
 * starts the WAL over. The WAL is therefore never longer than `limit` frames plus what is written
 * between two looks of the worker (`intervalMs` and one PASSIVE checkpoint), unless another
 * connection keeps reading an old snapshot for longer than `restartWaitMs`, which SQLite's own
 * auto-checkpoint cannot get past either (the worker then tries again `limit` frames later).
 *
 * Any failure of the worker (it cannot start, better-sqlite3's SQLite is older than 3.51, a
 * checkpoint throws) ends it, and the main connection's auto-checkpoint is turned back on: the
 * store works as it did without the worker. A checkpoint that stops half-way loses nothing; the
 * frames stay in the WAL.
 * @module
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

/** What the checkpoints need of the store: a way to hold its writes, and to let them go. */
export interface WriteGate {
  /** From now on, queue writes rather than run them. */
  hold(): void
  /** Run the queued writes, and the later ones as they come. */
  release(): void
}

/** The worker that checkpoints one database. */
export interface Checkpoints {
  /** Ends the worker and closes its connection; writes held for it are let go. */
  stop(): Promise<void>
}

/** When to checkpoint; the defaults are the store's. Tests set other values. */
export interface CheckpointOptions {
  /** Frames written since the last checkpoint that make the next one (SQLite's default). */
  pages?: number
  /** WAL length, in frames, at which writes are held for a RESTART checkpoint. */
  limit?: number
  /** How often the worker reads the WAL's length, in ms. */
  intervalMs?: number
  /** How long a RESTART checkpoint waits for another connection's lock, in ms. */
  restartWaitMs?: number
  /** The better-sqlite3 module the worker loads (its resolved path). */
  module?: string
}

/**
 * The worker, a CommonJS script run with `eval`: a string rather than a file of its own, so it
 * needs no path that both `src/` (under tsx or vitest, where a worker would get `.ts`) and the
 * bundled, chunk-split `dist/` (ESM and CommonJS) resolve alike.
 *
 * Every tick it reads the WAL's length and how much of it is copied with a NOOP checkpoint (no
 * work, no lock): a timer rather than the main side counting its frames, because better-sqlite3
 * does not report frames per commit (no `sqlite3_wal_hook`), and asking SQLite on the main
 * connection would cost the event loop a statement per commit.
 */
const workerSource = `'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const { module, path, pages, limit, intervalMs, restartWaitMs } = workerData
const Database = require(module)
const db = new Database(path, { fileMustExist: true, timeout: restartWaitMs })
const [major, minor] = db.prepare('SELECT sqlite_version()').pluck().get().split('.').map(Number)
if (major < 3 || (major === 3 && minor < 51)) {
  throw new Error('WAL checkpoints in a worker need SQLite 3.51 or later (better-sqlite3 12.5)')
}
db.pragma('synchronous = NORMAL')
const status = db.prepare('PRAGMA wal_checkpoint(NOOP)')
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)')
if (status.get().log < 0) throw new Error(path + ' is not in WAL mode')
let holding = false
// The WAL length of the next hold: \`limit\`, or further after a RESTART checkpoint gave up.
let holdAt = limit
// The WAL length after the last RESTART checkpoint: until the next write it stays so.
let restartedAt = -1
const timer = setInterval(() => {
  if (holding) return
  let { log, checkpointed } = status.get()
  if (log < limit) holdAt = limit
  if (log - checkpointed >= pages) {
    passive.get()
    ;({ log } = status.get())
  }
  if (log < holdAt || log === restartedAt) return
  holding = true
  parentPort.postMessage('hold')
}, intervalMs)
parentPort.on('message', (message) => {
  if (message === 'held') {
    const { busy, log } = restart.get()
    if (busy) {
      // A reader of old frames, or another process's write, outlasted restartWaitMs: the WAL
      // cannot start over yet. Holding the writes again at once would only stall them.
      holdAt = log + limit
    } else {
      // Copied and unread: the next write starts the WAL over.
      holdAt = limit
      restartedAt = log
    }
    holding = false
    parentPort.postMessage('release')
  } else if (message === 'close') {
    clearInterval(timer)
    db.close()
    parentPort.close()
  }
})
parentPort.postMessage('ready')
`

const defaults = {
  pages: 1000,
  // About 16 MiB of 4 KiB pages. A hold stops the writes for as long as one checkpoint of what
  // came since the last PASSIVE one takes, mostly its two fsyncs (20-50 ms under continuous
  // writes on the benchmark machine): every fourth checkpoint or so, rather than every one.
  limit: 4000,
  // Under the benchmark's writes, about 1000 frames come in this time; idle, a NOOP checkpoint
  // costs the worker next to nothing.
  intervalMs: 50,
  // A hold lasts at most this long, plus the copy, when other connections keep the lock.
  restartWaitMs: 100,
} as const

/**
 * Starts a worker that checkpoints the WAL of `db`, the store's own connection to `path`, and
 * turns off `db`'s auto-checkpoint once the worker is ready. Never throws: when the worker cannot
 * run, `db` keeps its auto-checkpoint.
 */
export function startCheckpoints(
  db: Database.Database,
  path: string,
  gate: WriteGate,
  options: CheckpointOptions = {},
): Checkpoints {
  const automatic = db.pragma('wal_autocheckpoint', { simple: true }) as number
  let worker: Worker
  try {
    const module = options.module ?? createRequire(import.meta.url).resolve('better-sqlite3')
    worker = new Worker(workerSource, {
      eval: true,
      // Plain CommonJS: none of the app's loaders (tsx, say) are needed to run it.
      execArgv: [],
      workerData: { ...defaults, ...options, module, path },
    })
  } catch {
    return { stop: async () => {} }
  }
  let stopping = false
  let held = false
  const release = () => {
    if (!held) return
    held = false
    worker.unref()
    gate.release()
  }
  worker.on('message', (message: unknown) => {
    if (stopping || !db.open) return
    if (message === 'ready') {
      db.pragma('wal_autocheckpoint = 0')
    } else if (message === 'hold') {
      held = true
      // Held writes are promises that only the worker's answer settles: until it comes, the
      // worker must keep the process alive.
      worker.ref()
      gate.hold()
      worker.postMessage('held')
    } else if (message === 'release') {
      release()
    }
  })
  // The error ends the worker; 'exit' follows and puts things back. Listening keeps it from
  // being thrown in this thread.
  worker.on('error', () => {})
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      if (db.open) db.pragma(`wal_autocheckpoint = ${automatic}`)
      release()
      resolve()
    })
  })
  // The store's close() ends the worker; an app that never closes the store can still exit.
  // After the listeners: adding a 'message' one refs the worker again.
  worker.unref()
  return {
    async stop() {
      stopping = true
      // Else, with nothing else to do, the process could exit before the worker has closed.
      worker.ref()
      worker.postMessage('close')
      await exited
    },
  }
}
