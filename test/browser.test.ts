/**
 * The pages of the reference service in a real Chromium: sign in, dashboard, the devices
 * page with two browsers, revoking the other one, sign out everywhere, the session cookie's
 * flags as the browser holds them, and a form on another origin that tries to post to us.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { type StartedService, startServiceProcess, tempDir } from './support/service.js';

let service: StartedService;
let browser: Browser;
let attacker: Server;
let attackerUrl: string;

beforeAll(async () => {
  service = await startServiceProcess([
    '--demo',
    '--store',
    `sqlite:${join(tempDir(), 'tessera.db')}`,
  ]);
  browser = await launchChromium();
  // Another origin (another loopback port) serving a page whose form posts to the service.
  attacker = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>Win a prize</title>
<form method="post" action="${service.url}/logout/all"><input type="hidden" name="x" value="1">
<button type="submit" id="go">Claim</button></form>`);
  });
  await new Promise<void>((done) => attacker.listen(0, '127.0.0.1', done));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await browser?.close();
  if (attacker) await new Promise((done) => attacker.close(done));
  await service?.stop();
});

async function signIn(context: BrowserContext, user = 'alice'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(service.url);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(`${user}-password`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${service.url}/dashboard`);
  return page;
}

describe('pages in Chromium', () => {
  it('signs in, shows the dashboard, and keeps the cookie out of reach of scripts', async () => {
    const context = await browser.newContext({
      userAgent: 'Mozilla/5.0 Chrome/130.0 TestBrowserA',
    });
    const page = await context.newPage();
    await page.goto(service.url);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expect(await page.getByRole('note').textContent()).toContain('Demo');

    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('Wrong user name or password.');

    await page.getByLabel('Password').fill('alice-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${service.url}/dashboard`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed in as alice');
    const details = await page.locator('main dl').textContent();
    expect(details).toContain('server');
    expect(details).toContain('Expires');

    const [cookie] = (await context.cookies()).filter((c) => c.name === 'tessera.sid');
    expect(cookie).toBeDefined();
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    expect(cookie?.path).toBe('/');
    expect(cookie?.expires).toBe(-1); // no "remember me": a browser-session cookie
    expect(await page.evaluate(() => document.cookie)).not.toContain('tessera.sid');
    // Signed in: the start page sends the browser to the dashboard.
    await page.goto(service.url);
    expect(page.url()).toBe(`${service.url}/dashboard`);
    await context.close();
  });

  it('lists both browsers on the devices page and revokes the other one', async () => {
    const one = await browser.newContext({ userAgent: 'Mozilla/5.0 Chrome/130.0 DeviceOne' });
    const two = await browser.newContext({ userAgent: 'Mozilla/5.0 Firefox/130.0 DeviceTwo' });
    const pageOne = await signIn(one, 'bob');
    const pageTwo = await signIn(two, 'bob');
    await pageOne.goto(`${service.url}/sessions`);
    const items = pageOne.locator('li[data-session]');
    expect(await items.count()).toBe(2);
    const current = pageOne.locator('li.current');
    expect(await current.count()).toBe(1);
    expect(await current.textContent()).toContain('DeviceOne');
    const other = pageOne.locator('li[data-session]:not(.current)');
    expect(await other.textContent()).toContain('DeviceTwo');
    await other.getByRole('button', { name: /Revoke/ }).click();
    await pageOne.waitForURL(`${service.url}/sessions`);
    expect(await pageOne.locator('li[data-session]').count()).toBe(1);

    await pageTwo.goto(`${service.url}/dashboard`);
    expect(pageTwo.url()).toBe(`${service.url}/`);
    expect(await pageTwo.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await one.close();
    await two.close();
  });

  it('refuses a form posted from another origin and keeps the user signed in', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, 'alice');
    await page.goto(attackerUrl);
    const [response] = await Promise.all([page.waitForNavigation(), page.locator('#go').click()]);
    expect(response?.status()).toBe(403);
    await page.goto(`${service.url}/dashboard`);
    expect(page.url()).toBe(`${service.url}/dashboard`);
    await context.close();
  });

  it('signs out everywhere', async () => {
    const first = await browser.newContext();
    const second = await browser.newContext();
    const pageOne = await signIn(first, 'alice');
    const pageTwo = await signIn(second, 'alice');
    await pageOne.goto(`${service.url}/sessions`);
    await pageOne.getByRole('button', { name: 'Sign out everywhere' }).click();
    await pageOne.waitForURL(`${service.url}/`);
    expect((await first.cookies()).filter((c) => c.name === 'tessera.sid')).toHaveLength(0);
    await pageTwo.goto(`${service.url}/dashboard`);
    expect(pageTwo.url()).toBe(`${service.url}/`);
    await first.close();
    await second.close();
  });

  it('signs out this browser with the header button', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, 'bob');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${service.url}/`);
    await page.goto(`${service.url}/dashboard`);
    expect(page.url()).toBe(`${service.url}/`);
    await context.close();
  });
});
