/**
 * The command line's help texts: one table of commands, from which `--help`, `help COMMAND`
 * and the README's usage lines (checked by a test) all come.
 * @module
 */
import { storeUrlForms } from '../stores/url.js'

/** One command's help: its synopsis (as the README shows it), what it does, and more detail. */
export interface CommandHelp {
  synopsis: string
  summary: string
  details?: string
}

const storeDetails = `A store URL (--store, or the SESSION_STORE variable) is one of:
  ${storeUrlForms}
PATH and DIR are relative to the working folder unless they start with /; three slashes,
as in sqlite:///var/lib/app/sessions.db or file:///var/lib/app/sessions, give an absolute
path, and sqlite://NAME or file://NAME is refused (write sqlite:NAME for a relative path).`

const codecDetails = `--format is native (tessera's own cookies, the default) or flask (Flask's).
--secret is the current secret, --fallback an older one still accepted (repeatable).
--name is the cookie's name, which a native cookie's signature covers (default: session).
--now sets the clock, in unix seconds.`

/** Every command, by the words that name it. Their synopses are the README's usage lines. */
export const commands: Record<string, CommandHelp> = {
  secret: {
    synopsis: 'tessera secret',
    summary: 'print a new random secret (32 bytes, base64url)',
  },
  'cookie decode': {
    synopsis:
      'tessera cookie decode COOKIE... --secret KEY [--fallback KEY]... [--format native|flask] [--name NAME] [--max-age SECONDS] [--now UNIX_SECONDS]',
    summary: 'print the session in a cookie as tagged JSON, or why it is invalid',
    details: `COOKIE is the value, or NAME=VALUE as a browser's tools copy it (the name then is
the cookie's name). A chunked session (cookie.chunks) is given as its pieces, session.0=…
session.1=…, as several arguments or as one Cookie header; they are joined in order, and
other cookies in the header are left out (--name picks the session's when it is not
"session"). An encrypted cookie (e2.…, or e1.… from 0.1) is recognised as such;
--encrypted is not needed. --max-age is the oldest a cookie may be, in seconds (default:
2678400, 31 days); a native cookie that carries its own lifetime (session.maxAge) is held to
that instead.
${codecDetails}`,
  },
  'cookie encode': {
    synopsis:
      'tessera cookie encode JSON --secret KEY [--format native|flask] [--encrypted] [--name NAME] [--now UNIX_SECONDS]',
    summary: 'print a cookie value holding the session JSON (tagged JSON, as decode prints it)',
    details: `--encrypted makes an encrypted native cookie (e2.…) instead of a signed one (s1.…).
${codecDetails}`,
  },
  'sessions list': {
    synopsis: 'tessera sessions list --store URL [--user ID] [--limit N]',
    summary: 'print the live sessions (of one user with --user), at most N (default: 100)',
    details: storeDetails,
  },
  'sessions revoke': {
    synopsis: 'tessera sessions revoke --store URL (--user ID | --id KEY)',
    summary: 'end every session of a user, or one session by its KEY (as list prints it)',
    details: storeDetails,
  },
  'sessions prune': {
    synopsis: 'tessera sessions prune --store URL',
    summary: 'remove expired sessions',
    details: storeDetails,
  },
  migrate: {
    synopsis: 'tessera migrate --store URL',
    summary: `create the store's tables and indexes, and its database file or folder; the
sessions commands never create them and fail (exit 1) on a missing one`,
    details: storeDetails,
  },
}

const exitCodes = 'Exit codes: 0 done, 1 failed, 2 bad usage.'

/** Wraps a synopsis at 96 columns, continuing lines under its first option. */
function wrap(synopsis: string, indent: number): string {
  const lines: string[] = []
  let line = ''
  // Options in brackets or parentheses stay on one line.
  for (const word of synopsis.match(/\[[^\]]*\](?:\.\.\.)?|\([^)]*\)|\S+/g) ?? []) {
    if (line && line.length + 1 + word.length > 96 - indent) {
      lines.push(line)
      line = `      ${word}`
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  lines.push(line)
  return lines.map((l) => `${' '.repeat(indent)}${l}`).join('\n')
}

/** The help of the commands whose names start with `prefix` (all of them for ''). */
export function helpFor(prefix: string): string {
  const names = Object.keys(commands).filter(
    (name) => name === prefix || name.startsWith(`${prefix} `) || !prefix,
  )
  const only = names.length === 1 ? commands[names[0]!] : undefined
  if (only) {
    return [
      `Usage: ${wrap(only.synopsis, 0)}`,
      '',
      only.summary.replace(/\n/g, ' '),
      ...(only.details ? ['', only.details] : []),
      '',
      exitCodes,
    ].join('\n')
  }
  const list = names.map((name) => {
    const { synopsis, summary } = commands[name]!
    return `${wrap(synopsis, 2)}\n${summary.replace(/^/gm, '      ')}`
  })
  return [
    prefix ? `Usage: tessera ${prefix} <command> [options]` : 'Usage: tessera <command> [options]',
    '',
    'Commands:',
    ...list,
    ...(prefix
      ? []
      : [
          '  tessera --version',
          '      print the version',
          '  tessera <command> --help',
          '      print the help of one command',
        ]),
    '',
    `${prefix ? '' : `${storeDetails}\n`}${exitCodes}`,
  ].join('\n')
}
