// The /docs page of a running service, in Debian's Chromium: it renders every group, makes
// no request to any other host and logs no console error, and its "try it" client sends an
// authenticated request to the service and shows the answer.
//
// BASE_URL: the service (the test suite starts the AOT binary for this).
// SCREENSHOT: where to save a screenshot of the page (default: a temporary file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const host = new URL(base).host;
const groups = ['Users', 'Profiles', 'Articles', 'Comments', 'Tags', 'v1', 'Operations'];

async function signUp() {
  const username = `docs${Date.now()}`;
  const response = await fetch(`${base}/api/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: { username, email: `${username}@example.com`, password: 'docs page password' } }),
  });
  assert.equal(response.status, 201);
  return { username, token: (await response.json()).user.token };
}

test('the docs page renders from the binary alone and its client sends an authenticated request', async () => {
  const { username, token } = await signUp();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const elsewhere = [];
    const errors = [];
    page.on('request', (request) => { if (new URL(request.url()).host !== host) elsewhere.push(request.url()); });
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(`${base}/docs/`, { waitUntil: 'networkidle' });
    for (const group of groups) {
      await page.getByRole('button', { name: new RegExp(`(Open|Close) Group - ${group}$`) }).first().waitFor();
    }
    await page.getByText('The JWT from register or login').first().waitFor();
    await page.screenshot({ path: process.env.SCREENSHOT ?? join(tmpdir(), 'blog-docs-page.png') });

    // Paste a token from sign-up into the Authentication panel, then try GET /api/user.
    await page.locator('input').first().fill(token);
    await page.getByText('The signed-in user', { exact: true }).first().click();
    await page.getByRole('button', { name: /Test Request\s*\(get \/api\/user\)/ }).click();
    await page.getByRole('button', { name: /^Send/ }).first().click();
    const answer = page.getByText(`"username": "${username}"`).or(page.getByText(username)).first();
    await answer.waitFor({ timeout: 15_000 });
    if (process.env.SCREENSHOT_TRY_IT) await page.screenshot({ path: process.env.SCREENSHOT_TRY_IT });

    assert.deepEqual(elsewhere, [], 'requests to other hosts');
    assert.deepEqual(errors, [], 'console errors');
  } finally {
    await browser.close();
  }
});
