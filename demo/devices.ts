/**
 * What "Your sessions" shows of a device: the browser and OS from its User-Agent, and its IP.
 * @module
 */
import Bowser from 'bowser'

/** "Chrome 131 on Windows 10", "Safari 17 on iOS 17.5", or "Unknown browser". */
export function describeDevice(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown browser'
  const { browser, os } = Bowser.parse(userAgent)
  const major = browser.version?.split('.')[0]
  const name = browser.name ? `${browser.name}${major ? ` ${major}` : ''}` : null
  const version = os.versionName ?? os.version
  const system = os.name ? `${os.name}${version ? ` ${version}` : ''}` : null
  if (name && system) return `${name} on ${system}`
  if (name) return name
  if (system) return `A browser on ${system}`
  // Not a browser we know (curl, a script…): show a short, recognisable start of what it sent.
  return userAgent.length > 40 ? `${userAgent.slice(0, 40)}…` : userAgent
}

/** The client IP as people write it: IPv4 addresses mapped into IPv6 lose their `::ffff:`. */
export function displayIp(ip: string | null | undefined): string {
  if (!ip) return 'unknown'
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip
}
