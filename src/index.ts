/**
 * tessera: HTTP sessions for TypeScript servers. The core: `createSessions`, the `Session`
 * object, errors, the cookie codecs and the session features (CSRF, flash messages). Stores and
 * adapters live under their own subpaths (`tessera/stores/sqlite`, `tessera/adapters/express`…),
 * so an app loads only what it uses.
 * @module
 */

export {
  type CryptoBackend,
  createNativeCodec,
  type NativeCodecOptions,
} from './codecs/native.js'
export {
  createAsyncNativeCodec,
  createWebNativeCodec,
  type NativeMode,
  type Sealer,
} from './codecs/native-web.js'
export { createNativeJSON, type JsonValue, type Tag, TaggedJSON } from './codecs/tagged-json.js'
export type {
  AnyCookieCodec,
  AsyncCookieCodec,
  CookieCodec,
  DecodeOptions,
  DecodeResult,
  DecodeSuccess,
  RejectReason,
  SessionData,
  SessionMeta,
} from './codecs/types.js'
export type { StandardResult, StandardSchema } from './engines/schema.js'
export type { PruneOptions } from './engines/store.js'
export type { CommitResult, RequestMeta, SessionEvent } from './engines/types.js'
export {
  ConfigError,
  CookieTooLargeError,
  isSessionError,
  SerializeError,
  SessionConflictError,
  SessionError,
  SessionNotLoadedError,
  StoreError,
} from './errors.js'
export {
  type CsrfFailure,
  type CsrfOptions,
  checkCsrf,
  csrfField,
  csrfHeader,
  csrfInput,
  csrfToken,
  verifyCsrfToken,
} from './features/csrf.js'
export { type FlashOptions, flash, getFlashedMessages } from './features/flash.js'
export { createFormCsrf, type FormCsrf, type FormCsrfOptions } from './features/form-csrf.js'
export type { Secret, Secrets } from './primitives/keys.js'
export type { RevocationOptions } from './session/revocation.js'
export { Session, type SessionShape } from './session/session.js'
export {
  type CookieSessions,
  type CookieSessionsOptions,
  createSessions,
  type OptionalOperations,
  type RevocableCookieSessions,
  type RevocableCookieSessionsOptions,
  type Sessions,
  type SessionsBase,
  type SessionsOptions,
  type StoreSessions,
  type StoreSessionsBase,
  type StoreSessionsOptions,
} from './session/sessions.js'
export type {
  OptionalStoreMethod,
  SessionPatch,
  SessionSummary,
  Store,
  StoredSession,
  StoreWith,
} from './stores/types.js'
export { type ChunkOptions, type CookieOptions, maxCookieBytes } from './transports/cookie.js'
export type { TokenOptions } from './transports/token.js'
export type { RequestHeaders, ResponseHeader } from './transports/types.js'
