// Sign-in on the operator page. The form rejects a wrong password and
// shows no video, and the right one opens the live view. Sign-out ends
// the session on the daemon. The first-start form creates the
// administrator, a role that requires TOTP leads through the enrolment,
// and throttled attempts show the wait. Every request stays on the
// daemon's origin.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';

import { ADMIN, waitFor, withWorkspace } from './vmstest.mjs';

const PANELS = ['sign-in', 'setup', 'enrol', 'app'];

// Returns the ids of the page's visible panels.
function visiblePanels(page) {
  return page.evaluate((ids) => ids.filter(
    (id) => !document.getElementById(id).hidden), PANELS);
}

async function waitPanel(page, id, description) {
  return waitFor(async () => {
    const visible = await visiblePanels(page);
    return visible.length === 1 && visible[0] === id;
  }, 15000, description);
}

function message(page) {
  return page.textContent('#login-message');
}

async function submitLogin(page, username, password) {
  await page.fill('#login-form input[name="username"]', username);
  await page.fill('#login-form input[name="password"]', password);
  await page.click('#login-form button[type="submit"]');
}

function videoState() {
  const video = document.getElementById('video');
  return { src: video.getAttribute('src') || '',
           currentTime: video.currentTime };
}

function assertSameOrigin(browser, daemon) {
  assert.deepEqual(browser.foreignRequests(daemon), [],
                   'requests or WebSockets to another origin');
}

// RFC 6238 code (SHA-1, 6 digits, 30 s step) of a base32 secret at
// timeMs, computed here independently of the daemon.
function totpCode(secretBase32, timeMs) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secretBase32.replace(/[\s=]/g, '').toUpperCase()) {
    const value = alphabet.indexOf(char);
    assert.ok(value >= 0, `"${char}" is not a base32 character`);
    bits += value.toString(2).padStart(5, '0');
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) {
    key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(timeMs / 30000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1000000).padStart(6, '0');
}

test('sign-in, live video and sign-out', { timeout: 150000 }, async (t) => {
  await withWorkspace('login', async (ws) => {
    const camera = await ws.camera();
    const daemon = await ws.daemon();
    const cameraId = await daemon.addCamera('Gate', camera.url);
    await daemon.waitStreaming(cameraId, 20000);

    const browser = await ws.browser();
    const page = browser.page;
    await page.goto(daemon.origin + '/');
    await waitPanel(page, 'sign-in', 'the sign-in form');
    assert.equal(await page.isVisible('#sign-out'), false);

    // A wrong password: an error, and neither the viewer nor any video.
    await submitLogin(page, ADMIN.username, 'not-the-right-password');
    await waitFor(async () => (await message(page)) ===
                  'Wrong user name, password or code.', 15000,
                  'the wrong-password message');
    assert.deepEqual(await visiblePanels(page), ['sign-in']);
    assert.equal(await page.inputValue('#login-form input[name="password"]'),
                 '');
    assert.deepEqual(browser.webSockets, [], 'WebSockets before sign-in');
    const camerasRequested = browser.requests.some(
      (url) => new URL(url).pathname.startsWith('/api/v1/cameras'));
    assert.equal(camerasRequested, false, 'camera requests before sign-in');
    assert.deepEqual(await page.evaluate(videoState),
                     { src: '', currentTime: 0 });

    // The right password: the header names the user and the first
    // camera plays live.
    await submitLogin(page, ADMIN.username, ADMIN.password);
    await waitPanel(page, 'app', 'the viewer after sign-in');
    assert.equal(await page.textContent('#user-name'), ADMIN.username);
    assert.equal(await page.isVisible('#sign-out'), true);
    assert.equal(await message(page), '');
    await waitFor(() => page.evaluate(
      () => document.getElementById('video').currentTime >= 1), 30000,
    'the live video to play 1 s');
    assert.equal(await page.textContent('#video-state'), 'live');
    const [first] = await browser.context.cookies(daemon.origin);
    assert.ok(first, 'no session cookie in the browser');
    assert.equal(first.httpOnly, true);
    assert.equal(first.sameSite, 'Strict');

    // The session ends on the daemon (as after a password change or an
    // expiry): the page's next camera poll gets 401 and the form returns.
    const ended = await daemon.request('POST', '/api/v1/auth/logout',
                                       undefined, { token: first.value });
    assert.equal(ended.status, 204);
    await waitPanel(page, 'sign-in', 'the sign-in form after the session ' +
                    'ended on the daemon');
    assert.equal(await message(page),
                 'Your session has ended: sign in again.');
    assert.equal((await page.evaluate(videoState)).src, '');
    await submitLogin(page, ADMIN.username, ADMIN.password);
    await waitPanel(page, 'app', 'the viewer after signing in again');
    await waitFor(() => page.evaluate(
      () => document.getElementById('video').currentTime >= 1), 30000,
    'the live video to play again');
    const [cookie] = await browser.context.cookies(daemon.origin);
    assert.notEqual(cookie.value, first.value);

    // Sign-out: the form returns, the video stops, and the session is
    // over on the daemon, not only dropped by the browser.
    await page.click('#sign-out');
    await waitPanel(page, 'sign-in', 'the sign-in form after sign-out');
    assert.equal(await message(page), 'Signed out.');
    assert.equal(await page.isVisible('#sign-out'), false);
    assert.equal(await page.textContent('#user-name'), '');
    assert.equal(await page.evaluate(() =>
      document.querySelectorAll('#cameras li').length), 0);
    assert.equal((await page.evaluate(videoState)).src, '');
    const later = await page.evaluate(async () =>
      (await fetch('/api/v1/cameras')).status);
    assert.equal(later, 401, 'API call from the page after sign-out');
    const reused = await fetch(daemon.origin + '/api/v1/auth/me', {
      headers: { Cookie: `${cookie.name}=${cookie.value}` },
    });
    assert.equal(reused.status, 401, 'old session cookie after sign-out');
    t.diagnostic(`${browser.requests.length} requests and ` +
                 `${browser.webSockets.length} WebSockets, all checked`);

    assertSameOrigin(browser, daemon);
    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(browser.unexpectedConsoleErrors([
      [401, '/api/v1/auth/me'], [401, '/api/v1/auth/login'],
      [401, '/api/v1/cameras']]), [], 'console errors in the page');
  });
});

test('first-start form creates the administrator', { timeout: 120000 },
  async () => {
    await withWorkspace('setup', async (ws) => {
      const daemon = await ws.daemon({ setup: false });
      const browser = await ws.browser();
      const page = browser.page;
      await page.goto(daemon.origin + '/');
      await waitPanel(page, 'sign-in', 'the sign-in form');
      await page.click('#show-setup');
      await waitPanel(page, 'setup', 'the first-start form');

      const form = '#setup-form ';
      const setupMessage = () => page.textContent('#setup-message');
      const setupRequests = () => browser.requests.filter(
        (url) => new URL(url).pathname === '/api/v1/auth/setup').length;
      await page.fill(form + 'input[name="token"]', 'wrong-token');
      await page.fill(form + 'input[name="username"]', 'chief');
      await page.fill(form + 'input[name="password"]', ADMIN.password);
      await page.fill(form + 'input[name="repeat"]', ADMIN.password);
      await page.click(form + 'button[type="submit"]');
      await waitFor(async () => /^Wrong or already used setup token/.test(
        await setupMessage()), 15000, 'the wrong-token message');
      assert.equal(setupRequests(), 1);

      // Passwords that differ are caught in the page, before any request.
      await page.fill(form + 'input[name="token"]', daemon.setupToken);
      await page.fill(form + 'input[name="repeat"]', ADMIN.password + 'x');
      await page.click(form + 'button[type="submit"]');
      assert.equal(await setupMessage(),
                   'The two passwords differ: type the same password twice.');
      assert.equal(setupRequests(), 1);

      await page.fill(form + 'input[name="repeat"]', ADMIN.password);
      await page.click(form + 'button[type="submit"]');
      await waitPanel(page, 'app', 'the viewer after the setup');
      assert.equal(await page.textContent('#user-name'), 'chief');

      // The administrator exists on the daemon, and the token is spent.
      const login = await daemon.login({ username: 'chief',
                                         password: ADMIN.password },
                                       { bearer: true });
      assert.equal(login.status, 200);
      const me = await daemon.request('GET', '/api/v1/auth/me', undefined,
                                      { token: login.body.token });
      assert.equal(me.body.role, 'administrator');
      const again = await daemon.request('POST', '/api/v1/auth/setup', {
        token: daemon.setupToken, username: 'second',
        password: ADMIN.password }, { token: null });
      assert.equal(again.status, 409, JSON.stringify(again.body));

      assertSameOrigin(browser, daemon);
      assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
      assert.deepEqual(browser.unexpectedConsoleErrors([
        [401, '/api/v1/auth/me'], [403, '/api/v1/auth/setup']]), [],
      'console errors in the page');
    });
  });

test('required TOTP: enrolment, then code at sign-in', { timeout: 120000 },
  async (t) => {
    await withWorkspace('totp', async (ws) => {
      const daemon = await ws.daemon();
      // No API route or vmsctl command sets a role's require_totp yet, so
      // the test sets it in the daemon's database, which the daemon reads
      // on every request.
      try {
        execFileSync('sqlite3', [
          '-cmd', '.timeout 5000', path.join(daemon.dataDir, 'catalog.db'),
          "UPDATE auth_roles SET require_totp = 1 WHERE name = 'administrator'",
        ]);
      } catch (err) {
        throw new Error('cannot run sqlite3 (Debian package sqlite3, ' +
                        `installed by scripts/install-deps.sh): ${err}`);
      }

      const browser = await ws.browser();
      const page = browser.page;
      await page.goto(daemon.origin + '/');
      await waitPanel(page, 'sign-in', 'the sign-in form');
      await submitLogin(page, ADMIN.username, ADMIN.password);
      await waitPanel(page, 'enrol', 'the enrolment step');
      assert.equal(await page.textContent('#user-name'), ADMIN.username);

      // The QR code is the daemon's SVG, shown as an image from a blob:
      // URL; the secret is printed in groups of four.
      const qr = await waitFor(() => page.evaluate(() => {
        const img = document.getElementById('totp-qr');
        return img.complete && img.naturalWidth > 0 && img.src;
      }), 10000, 'the QR code to load');
      assert.match(qr, /^blob:/);
      const secret = (await page.textContent('#totp-secret'))
        .replace(/\s/g, '');
      assert.match(secret, /^[A-Z2-7]{32}$/);

      // A code of another time (an hour ago) is rejected.
      const code = page.locator('#totp-form input[name="code"]');
      await code.fill(totpCode(secret, Date.now() - 3600000));
      await page.click('#totp-form button[type="submit"]');
      await waitFor(async () => /^The code was not accepted/.test(
        await page.textContent('#enrol-message')), 10000,
      'the rejected-code message');

      await code.fill(totpCode(secret, Date.now()));
      await page.click('#totp-form button[type="submit"]');
      await page.locator('#recovery').waitFor({ state: 'visible',
                                                timeout: 10000 });
      const recoveryCodes = await page.locator('#recovery-codes li')
        .allTextContents();
      assert.equal(recoveryCodes.length, 10);
      for (const recoveryCode of recoveryCodes) {
        assert.match(recoveryCode, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
      }
      assert.equal(await page.textContent('#totp-secret'), '',
                   'the secret stays on the screen');
      await page.click('#enrol-done');
      await waitPanel(page, 'app', 'the viewer after the enrolment');
      assert.equal(await page.evaluate(() =>
        document.getElementById('recovery-codes').children.length), 0);

      // Sign out and in again: the form shows the code field, and a
      // recovery code from the enrolment step signs in.
      await page.click('#sign-out');
      await waitPanel(page, 'sign-in', 'the sign-in form after sign-out');
      assert.equal(await page.isVisible('#totp-field'), false);
      await submitLogin(page, ADMIN.username, ADMIN.password);
      await page.locator('#totp-field').waitFor({ state: 'visible',
                                                  timeout: 15000 });
      assert.match(await message(page), /^This account has a second factor/);
      await page.fill('#login-form input[name="totp_code"]',
                      recoveryCodes[0]);
      await page.click('#login-form button[type="submit"]');
      await waitPanel(page, 'app', 'the viewer after the recovery code');
      t.diagnostic('enrolled with a code computed from the secret on the ' +
                   'page, then signed in with a recovery code');

      assertSameOrigin(browser, daemon);
      assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
      assert.deepEqual(browser.unexpectedConsoleErrors([
        [401, '/api/v1/auth/me'], [401, '/api/v1/auth/login'],
        [400, '/api/v1/auth/totp/confirm']]), [],
      'console errors in the page');
    });
  });

test('throttled sign-in shows the wait', { timeout: 120000 }, async (t) => {
  await withWorkspace('throttle', async (ws) => {
    const daemon = await ws.daemon();
    const browser = await ws.browser();
    const page = browser.page;
    await page.goto(daemon.origin + '/');
    await waitPanel(page, 'sign-in', 'the sign-in form');

    // The daemon allows 3 failures per account, then delays the next
    // attempt by 1 s, doubling with each failure. Wrong passwords follow
    // each other until one falls inside the delay.
    const submit = page.locator('#login-form button[type="submit"]');
    let attempts = 0;
    let text = '';
    while (!/^Too many failed sign-ins/.test(text) && attempts < 8) {
      await Promise.all([
        page.waitForResponse((response) =>
          new URL(response.url()).pathname === '/api/v1/auth/login'),
        submitLogin(page, ADMIN.username, 'not-the-right-password'),
      ]);
      attempts++;
      // The page may not have handled the response yet.
      text = await waitFor(async () => {
        const current = await message(page);
        return current !== 'Signing in...' && current;
      }, 15000, 'an answer to the sign-in');
    }
    t.diagnostic(`throttled at attempt ${attempts}: "${text}"`);
    assert.match(
      text, /^Too many failed sign-ins: wait \d+ s before the next try\.$/);
    assert.equal(await submit.isDisabled(), true);

    await waitFor(async () => (await message(page)) ===
                  'You can try again now.', 70000, 'the end of the wait');
    assert.equal(await submit.isDisabled(), false);
    await submitLogin(page, ADMIN.username, ADMIN.password);
    await waitPanel(page, 'app', 'the viewer after the wait');

    assertSameOrigin(browser, daemon);
    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(browser.unexpectedConsoleErrors([
      [401, '/api/v1/auth/me'], [401, '/api/v1/auth/login'],
      [429, '/api/v1/auth/login']]), [], 'console errors in the page');
  });
});
