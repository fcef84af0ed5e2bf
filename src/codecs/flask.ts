/**
 * The path `tessera/flask` had before it became the `flask/` folder, kept because
 * `session/sessions.ts` (being rewritten elsewhere) still imports it; it goes once that file
 * imports `./codecs/flask/index.js`.
 * @module
 */
export * from './flask/index.js'
