/**
 * Limits that browsers impose, known to more than one layer.
 * @module
 */

/** The longest cookie, name and value, that browsers keep (RFC 6265bis, section 5.7). */
export const maxCookieBytes = 4096
