/**
 * Takes the screenshots in docs/screenshots/ with the system Chromium: the sign-in page, the
 * dashboard and the devices page of a demo service on a memory store.
 * Run: node --import tsx scripts/screenshots.ts
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { resolveServiceConfig } from '../packages/server/src/service/config.js';
import { startService } from '../packages/server/src/service/serve.js';

const out = resolve(import.meta.dirname, '../docs/screenshots');
mkdirSync(out, { recursive: true });

const service = await startService(
  resolveServiceConfig({ port: '0', store: 'memory:', demo: true }, { TESSERA_LOG_LEVEL: 'warn' }),
);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
  ],
});
try {
  const viewport = { width: 900, height: 760 };
  const phone = await browser.newContext({
    viewport,
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Mobile/15E148 Safari/604.1',
  });
  const desk = await browser.newContext({
    viewport,
    colorScheme: 'light',
    userAgent:
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  });
  for (const context of [phone, desk]) {
    const page = await context.newPage();
    await page.goto(service.url);
    if (context === desk) await page.screenshot({ path: join(out, 'sign-in.png') });
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('alice-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${service.url}/dashboard`);
  }
  await fetch(`${service.url}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'my-cli/1.2 (token client)' },
    body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
  });
  const page = desk.pages()[0];
  if (!page) throw new Error('no page');
  await page.screenshot({ path: join(out, 'dashboard.png') });
  await page.goto(`${service.url}/sessions`);
  await page.screenshot({ path: join(out, 'devices.png'), fullPage: true });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await service.close();
}
