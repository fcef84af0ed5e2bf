/**
 * `tessera/flask`: Flask's session cookie format, and the JavaScript stand-ins for the Python
 * values it carries (tuples, Markup, UUIDs, integral floats).
 * @module
 */
export {
  createFlaskCodec,
  decodeFlaskUnsafe,
  type FlaskCodecOptions,
  flaskReservedKeys,
  type UnsafeDecodeResult,
} from './codec.js'
export { parseHttpDate } from './http-date.js'
export { copyFloatMarks, Markup, markFloat, Tuple, UUID } from './python.js'
export { dumpsSession, flaskJSON, flaskTags } from './tags.js'
export { createWebFlaskCodec } from './web.js'
