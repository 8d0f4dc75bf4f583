// The headless browser that the dashboard's browser tests drive (test/report/dashboard-browser.test.ts).
// growbert never downloads a browser build of its own (puppeteer-core brings none): it uses the
// system's Chromium, and `node scripts/setup.mjs --browser` (which `npm test` runs) installs
// Debian's `chromium` package when none is found and set-up runs as root on Debian/Ubuntu.
// Elsewhere nothing is installed and the browser tests skip, saying why.
// Plain JS with no dependencies: set-up runs it before `npm ci`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** The browser to drive: $GROWBERT_CHROME if set, else the first system Chromium/Chrome found; null if none. */
export function findBrowser() {
  const env = process.env.GROWBERT_CHROME;
  if (env) return fs.existsSync(env) ? env : null;
  return CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

/**
 * Installs Debian's chromium when no browser is found and this is root on Debian/Ubuntu.
 * Returns the browser path, or null with a warning printed (the browser tests then skip).
 */
export function ensureBrowser({ say = () => {}, quiet = false } = {}) {
  const found = findBrowser();
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && fs.existsSync('/etc/debian_version')) {
    say("no Chromium found: installing Debian's chromium with apt for the dashboard's browser tests (once)");
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', env };
    const args = ['install', '-y', '-q', '--no-install-recommends', 'chromium'];
    if (spawnSync('apt-get', args, opts).status !== 0) {
      spawnSync('apt-get', ['update', '-q'], opts);
      spawnSync('apt-get', args, opts);
    }
    const now = findBrowser();
    if (now) {
      // Its first start builds font caches and a profile (seen over 30 s on a loaded machine): done here, once,
      // so that the browser test's launch does not pay it.
      const warm = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--dump-dom', 'about:blank'];
      spawnSync(now, warm, { stdio: 'ignore', timeout: 180_000 });
      return now;
    }
  }
  console.error(
    "growbert setup: warning: no Chromium found (install it: `sudo apt-get install chromium`, or set GROWBERT_CHROME=/path/to/chrome); the dashboard's browser tests will be skipped",
  );
  return null;
}
