/**
 * A disk that fills up on demand, injected through the file store's `fs` option.
 * @module
 */
import * as fsp from 'node:fs/promises'
import type { FileStoreFs } from '../../src/stores/file.js'

/** File operations for `createFileStore({ fs })`, and the switch that fills the disk. */
export interface FillingDisk {
  fs: Pick<FileStoreFs, 'open'>
  /** While true, every temp file the store writes fails half-way with ENOSPC. */
  full: boolean
}

/** A disk with room to spare until `full` is set. */
export function fillingDisk(): FillingDisk {
  const disk: FillingDisk = {
    full: false,
    fs: {
      async open(path, flags, mode) {
        const handle = await fsp.open(path, flags, mode)
        // Only temp files: the store writes a session there before renaming it into place.
        if (!disk.full || !String(path).endsWith('.tmp')) return handle
        return new Proxy(handle, {
          get(target, property) {
            if (property === 'writeFile') {
              return async (data: string) => {
                await target.write(data.slice(0, data.length >> 1))
                throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
                  code: 'ENOSPC',
                })
              }
            }
            const value = Reflect.get(target, property)
            return typeof value === 'function' ? value.bind(target) : value
          },
        })
      },
    },
  }
  return disk
}
