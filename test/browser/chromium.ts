/**
 * Debian's Chromium (apt package `chromium`) driven by playwright-core, for the browser tests.
 * Never a browser downloaded by `npx playwright install`: the tests use what the machine has,
 * and skip with a one-line reason (fail under CI=true) when it has none.
 * @module
 */
import { execFile } from 'node:child_process'
import { type Browser, type BrowserContext, chromium } from 'playwright-core'

/** Where Chromium is: `CHROMIUM_PATH`, or Debian's. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** The flags of a quiet, headless, throwaway browser. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Null when Chromium runs here, else a one-line reason. */
export function chromiumAvailable(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(chromiumPath, ['--version'], { timeout: 15_000 }, (error, stdout) => {
      if (!error && /chrom/i.test(stdout)) resolve(null)
      else if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        resolve(`Chromium is not installed at ${chromiumPath} (apt-get install chromium)`)
      } else {
        const why = error ? error.message.split('\n')[0] : `unexpected output "${stdout.trim()}"`
        resolve(`Chromium at ${chromiumPath} does not run (${why})`)
      }
    })
  })
}

/**
 * The User-Agent of a desktop Chrome of the installed version on Linux: what headless Chromium
 * sends, without the "Headless" that would otherwise show on "Your sessions".
 */
export function desktopUserAgent(): Promise<string> {
  return new Promise((resolve) => {
    execFile(chromiumPath, ['--version'], { timeout: 15_000 }, (_error, stdout) => {
      const major = /(\d+)\.\d+\.\d+/.exec(stdout ?? '')?.[1] ?? '130'
      resolve(
        `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`,
      )
    })
  })
}

/**
 * Starts Chromium. Playwright gives it a fresh, temporary user-data dir, removed on close;
 * each `device` is then a context of its own: its own cookie jar, as another browser would be.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true })
}

/** Options of a device. */
export interface DeviceOptions {
  baseURL: string
  userAgent?: string
  javaScriptEnabled?: boolean
}

/** A fresh browser context: a "device" with an empty cookie jar, and one page open. */
export async function openDevice(
  browser: Browser,
  options: DeviceOptions,
): Promise<BrowserContext> {
  return browser.newContext({
    baseURL: options.baseURL,
    viewport: { width: 1024, height: 720 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    locale: 'en-GB',
    timezoneId: 'UTC',
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
  })
}
