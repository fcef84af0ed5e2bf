/**
 * The narrow handle that adapters and features have on a session, beyond its public methods.
 * Everything they may do to a session that an app may not is here, in one place:
 *
 * - `needsLoad`: whether the session must be read from its store before the handler runs;
 * - `deferLoadError`: keep a failed eager load's error, to throw when the handler uses the session;
 * - `onSave`: what `session.save()` does (the adapter commits and sets the cookie);
 * - `isKeyed`: whether values are saved key by key (store sessions), for features that keep
 *   one key per item so that concurrent requests never overwrite each other;
 * - `rotatedKeys`: keys a feature keeps a per-session secret under, dropped by `regenerate()`;
 * - `viaToken`: whether the request carried its session in a header token, not a cookie.
 * @module
 */
import { draftOf, engineOf, type Session } from './session.js'

export { rotatedKeys } from './session.js'

/** Whether the session must be read from its store before the handler can use it. */
export function needsLoad<T extends object>(session: Session<T>): boolean {
  const draft = draftOf(session)
  if (draft.loaded) return false
  const engine = engineOf(session)
  if (!engine.loadsAsync) return false
  engine.check(draft)
  return !draft.loaded
}

/** Keeps why the eager load failed: thrown when the handler touches the session's data. */
export function deferLoadError<T extends object>(session: Session<T>, error: unknown): void {
  draftOf(session).loadError = error
}

/** Sets what `session.save()` does for this request. */
export function onSave<T extends object>(session: Session<T>, save: () => Promise<void>): void {
  draftOf(session).save = save
}

/**
 * Whether the request came with a header token rather than a cookie (or asked for one): such a
 * request carries no cookie, so no authority a browser would add by itself, and needs no CSRF
 * token.
 */
export function viaToken<T extends object>(session: Session<T>): boolean {
  return draftOf(session).incoming.via === 'token'
}

/** Whether the session is saved key by key, so distinct keys written concurrently all stay. */
export function isKeyed<T extends object>(session: Session<T>): boolean {
  return engineOf(session).keyed
}
