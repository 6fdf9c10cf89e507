// Takes screenshots of a running dashboard (for docs/img/, e.g. during `scripts/demo`):
//   node tests/browser/screenshot.mjs URL NAME PASSWORD OUT_DIR [SECONDS_TO_WAIT]
// Logs in, waits for the overview, saves overview.png (1280x800), waits SECONDS (default 0)
// watching the live updates, and saves overview-later.png.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [url, name, password, out, wait = '0'] = process.argv.slice(2);
if (!url || !name || !password || !out) {
  console.error('usage: node screenshot.mjs URL NAME PASSWORD OUT_DIR [SECONDS_TO_WAIT]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.VIGIL_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
  headless: true,
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: true });
  await page.goto(`${url}/dashboard/`);
  await page.getByTestId('login-name').fill(name);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('overview-tiles').waitFor({ timeout: 30000 });
  await page.screenshot({ path: `${out}/overview.png` });
  if (Number(wait) > 0) {
    await page.waitForTimeout(Number(wait) * 1000);
    await page.screenshot({ path: `${out}/overview-later.png` });
  }
} finally {
  await browser.close();
}
