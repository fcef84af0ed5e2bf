/**
 * Timeouts for store calls, one timer for all of them. Every call gets the same time limit, so
 * calls expire in the order they started: a queue, whose head is the next to expire, needs one
 * armed timer, where a `setTimeout` per call would add a timer insert and removal to every
 * request that reads a store.
 * @module
 */

/** One call's place in the queue. */
export interface Deadline {
  /** Marks the call answered. True if it was still waiting, false if it had already timed out. */
  settle(): boolean
}

interface Entry extends Deadline {
  at: number
  done: boolean
  expire: () => void
}

function noop(): void {}

/** A queue of calls that each time out `ms` milliseconds after they start. */
export function createDeadlines(ms: number): {
  /** Starts the clock of one call; `onTimeout` runs if it is not settled in time. */
  start(onTimeout: () => void): Deadline
  /**
   * What `run()` resolves to, within the time limit. It rejects with `failed(cause)` when
   * `run` throws or rejects, and with `failed(timedOut())` when the time is up first.
   */
  within<T>(
    run: () => Promise<T>,
    timedOut: () => unknown,
    failed?: (cause: unknown) => unknown,
  ): Promise<T>
} {
  const queue: Entry[] = []
  let head = 0
  let timer: NodeJS.Timeout | null = null

  function arm(): void {
    while (head < queue.length && queue[head]!.done) head++
    if (head === queue.length) {
      queue.length = 0
      head = 0
      return
    }
    // Drop the entries already passed now and then, not on every call.
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
    timer = setTimeout(fire, Math.max(0, queue[head]!.at - performance.now()))
  }

  function fire(): void {
    timer = null
    const t = performance.now()
    while (head < queue.length && (queue[head]!.done || queue[head]!.at <= t)) {
      const entry = queue[head++]!
      if (!entry.done) {
        entry.done = true
        entry.expire()
      }
    }
    arm()
  }

  function start(onTimeout: () => void): Deadline {
    const entry: Entry = {
      at: performance.now() + ms,
      done: false,
      expire: onTimeout,
      settle() {
        if (entry.done) return false
        entry.done = true
        // An answered entry waits in the queue until the head passes it; it must not keep
        // the caller's promise (and the record it resolved to) alive meanwhile.
        entry.expire = noop
        // Calls mostly end in the order they began: drop the answered ones at the front now,
        // so the queue holds about the calls in flight rather than a timeout's worth.
        while (head < queue.length && queue[head]!.done) head++
        if (head === queue.length) {
          queue.length = 0
          head = 0
        }
        return true
      },
    }
    queue.push(entry)
    if (timer === null) arm()
    return entry
  }

  return {
    start,
    within(run, timedOut, failed = (cause) => cause) {
      return new Promise((resolve, reject) => {
        const deadline = start(() => reject(failed(timedOut())))
        let pending: ReturnType<typeof run>
        try {
          pending = run()
        } catch (cause) {
          if (deadline.settle()) reject(failed(cause))
          return
        }
        pending.then(
          (value) => {
            if (deadline.settle()) resolve(value)
          },
          (cause: unknown) => {
            if (deadline.settle()) reject(failed(cause))
          },
        )
      })
    },
  }
}
