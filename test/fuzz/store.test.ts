/**
 * Fuzzing the store record decoder: `sessions.open(cookie)` + `load()` for a genuine cookie
 * whose record was replaced by hostile data (memory store), a hostile session file (file store)
 * or a hostile data column (SQLite). The session loads as data that can be written back and read
 * again, or as anonymous; never an exception, a 503 for a healthy store, or a revived session.
 */
import { describe } from 'vitest'
import { storeLinearTarget } from './linear.js'
import { fuzz } from './support/run.js'
import { fileStoreTarget, memoryStoreTarget, sqliteStoreTarget } from './targets.js'

describe('fuzz: store record decoder', () => {
  fuzz(memoryStoreTarget)
  fuzz(fileStoreTarget)
  fuzz(sqliteStoreTarget)
  fuzz(storeLinearTarget)
})
