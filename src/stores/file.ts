/**
 * A store with one file per session in a folder (see `file/store.ts`). This module is the
 * package's `tessera/stores/file` entry.
 * @module
 */
export type { FileStoreFs, FileStoreOptions } from './file/store.js'
export { createFileStore } from './file/store.js'
