// Zero egress: while an operator signs in, adds a camera, watches it live
// and plays a recording, every request of the page goes to the daemon's
// origin. No CDN, web font or other host is contacted.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FOOTAGE_ONE_SECOND_GOP, waitFor, withWorkspace } from './vmstest.mjs';

// Absolute URLs in the served page files that a browser would fetch:
// http(s) and ws(s) URLs, and protocol-relative src, href and url().
const ABSOLUTE_URL_PATTERNS = [
  /\b(?:https?|wss?):\/\/[^\s'"<>)]*/gi,
  /\b(?:src|href)\s*=\s*["']?\/\/[^\s'"<>]*/gi,
  /url\(\s*["']?\/\/[^\s'")]*/gi,
  /@import\s+["'][^"']*/gi,
];

function inputValue(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19);
}

test('page requests only its origin', { timeout: 150000 }, async (t) => {
  await withWorkspace('egress', async (ws) => {
    const camera = await ws.camera(FOOTAGE_ONE_SECOND_GOP);
    const daemon = await ws.daemon({ segmentSeconds: 5 });

    for (const file of ['/', '/index.html', '/app.js', '/auth.js',
                        '/style.css']) {
      const text = await (await fetch(daemon.origin + file)).text();
      const found = ABSOLUTE_URL_PATTERNS.flatMap((re) => text.match(re) || []);
      assert.deepEqual(found, [], `absolute URLs in ${file}`);
    }

    const browser = await ws.browser();
    const page = browser.page;
    const currentTime = () => page.evaluate(
      () => document.getElementById('video').currentTime);
    // Sign in through the page's form; the session cookie then
    // authenticates every request and WebSocket of the page.
    await browser.signInWithForm(daemon);

    // Add the camera through the page's form, then watch it live.
    const startedUs = Date.now() * 1000;
    await page.fill('#add-camera input[name="name"]', 'Door');
    await page.fill('#add-camera input[name="main_url"]', camera.url);
    await page.click('#add-camera button[type="submit"]');
    const entry = page.locator('#cameras button', { hasText: 'Door' });
    await entry.waitFor({ timeout: 10000 });
    assert.equal(await page.textContent('#add-error'), '');
    const cameraId = Number(await entry.getAttribute('data-camera-id'));
    await daemon.waitStreaming(cameraId, 20000);
    await entry.click();
    await waitFor(async () => (await currentTime()) >= 1, 30000,
                  'the live video to play for 1 s');

    // Play the first recorded segment from the Playback tab.
    const recording = await waitFor(async () => {
      const query = `from=${startedUs}&to=${Date.now() * 1000 + 60e6}`;
      const { body } = await daemon.request(
        'GET', `/api/v1/cameras/${cameraId}/recordings?${query}`);
      return body.recordings[0];
    }, 45000, 'a recorded segment');
    await page.click('#tab-playback');
    await page.fill('#from', inputValue(Math.ceil(recording.start_us / 1e6)));
    await page.fill('#to', inputValue(Math.floor(recording.end_us / 1e6)));
    await page.click('#playback-form button[type="submit"]');
    await waitFor(async () => (await currentTime()) >= 1, 20000,
                  'the recording to play for 1 s');

    // Back to live, which opens a new WebSocket.
    await page.click('#tab-live');
    await waitFor(async () => (await currentTime()) >= 1, 20000,
                  'the live video to play again');

    const paths = browser.requests.map((url) => new URL(url).pathname);
    t.diagnostic(`${browser.requests.length} requests and ` +
                 `${browser.webSockets.length} WebSockets, all checked`);
    for (const expected of ['/', '/style.css', '/app.js', '/auth.js',
                            '/api/v1/auth/me', '/api/v1/auth/login',
                            '/api/v1/cameras',
                            `/api/v1/cameras/${cameraId}/recordings`,
                            `/api/v1/cameras/${cameraId}/playback.mp4`]) {
      assert.ok(paths.includes(expected), `no request for ${expected}`);
    }
    assert.ok(browser.webSockets.length >= 2,
              `${browser.webSockets.length} live WebSockets, expected 2`);

    assert.deepEqual(browser.foreignRequests(daemon), [],
                     'requests or WebSockets to another origin');

    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    // The page requests /api/v1/auth/me before the sign-in and gets 401.
    const expectedErrors = [[401, '/api/v1/auth/me']];
    assert.deepEqual(browser.unexpectedConsoleErrors(expectedErrors), [],
                     'console errors in the page');
  });
});
