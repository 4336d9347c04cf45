// Live view: the operator page lists the camera and its <video> element
// plays the WebSocket stream through Media Source Extensions.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { waitFor, withWorkspace } from './vmstest.mjs';

// Records in the page the time from navigation start (performance.now()
// is 0 there) until the live <video> first shows currentTime > 0.
function recordFirstFrame() {
  const poll = () => {
    const video = document.getElementById('video');
    if (video && video.currentTime > 0) {
      window.vmsFirstFrameMs = performance.now();
      return;
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}

function videoState() {
  const video = document.getElementById('video');
  const quality = video.getVideoPlaybackQuality();
  return {
    currentTime: video.currentTime,
    paused: video.paused,
    error: video.error ? video.error.message || String(video.error.code) : '',
    width: video.videoWidth,
    height: video.videoHeight,
    frames: quality.totalVideoFrames,
    status: document.getElementById('video-state').textContent,
  };
}

test('live view plays the camera', { timeout: 150000 }, async (t) => {
  await withWorkspace('live', async (ws) => {
    const camera = await ws.camera();
    const daemon = await ws.daemon();
    const cameraId = await daemon.addCamera('Gate', camera.url);
    await daemon.waitStreaming(cameraId, 20000);

    const browser = await ws.browser();
    await browser.signIn(daemon);
    const page = browser.page;
    await page.addInitScript(recordFirstFrame);
    const loadStart = Date.now();
    await page.goto(daemon.origin + '/');

    // The camera appears in the list with its state, and the page
    // selects the first camera by itself.
    const entry = page.locator(`#cameras button[data-camera-id="${cameraId}"]`);
    await entry.waitFor({ timeout: 10000 });
    assert.match(await entry.textContent(), /^Gate streaming$/);
    assert.equal(await entry.locator('.state').getAttribute('class'),
                 'state streaming');
    await waitFor(async () => (await page.textContent('#viewer-title')) ===
                  'Gate', 10000, 'the viewer title to name the camera');

    // Time to first frame: from navigation start to currentTime > 0.
    const firstFrameMs = await waitFor(
      () => page.evaluate(() => window.vmsFirstFrameMs), 20000,
      'the live video to start (currentTime > 0)', 50);
    const wallMs = Date.now() - loadStart;
    t.diagnostic(`time to first frame: ${Math.round(firstFrameMs)} ms from ` +
                 `navigation start to currentTime > 0 (${wallMs} ms ` +
                 'measured by the test, including the navigation request)');

    const start = await page.evaluate(videoState);
    const startedAt = Date.now();
    const advanced = await waitFor(async () => {
      const now = await page.evaluate(videoState);
      return now.currentTime - start.currentTime >= 2 && now;
    }, 20000, 'video.currentTime to advance by 2 s');
    t.diagnostic(`currentTime ${start.currentTime.toFixed(2)} s -> ` +
                 `${advanced.currentTime.toFixed(2)} s in ` +
                 `${Date.now() - startedAt} ms, ` +
                 `${advanced.frames - start.frames} frames decoded`);

    assert.equal(advanced.error, '');
    assert.equal(advanced.paused, false);
    assert.equal(advanced.status, 'live');
    // tests/data/car-detection.mp4 is 768x432 at 12.5 frames per second,
    // so 2 s of playback decode about 25 frames.
    assert.equal(advanced.width, 768);
    assert.equal(advanced.height, 432);
    assert.ok(advanced.frames - start.frames >= 12,
              `only ${advanced.frames - start.frames} frames decoded while ` +
              'currentTime advanced by 2 s');

    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(browser.consoleErrors, [], 'console errors in the page');
  });
});
