/**
 * The executable entry of the `tessera` command.
 * @module
 */
import { main } from './main.js'

process.exitCode = await main(process.argv.slice(2))
