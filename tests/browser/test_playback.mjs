// Playback: the page's Playback tab plays a recorded range that spans
// two segments, and seeking into the second segment works.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FOOTAGE_ONE_SECOND_GOP, waitFor, withWorkspace } from './vmstest.mjs';

const SEGMENT_SECONDS = 5;

// Formats seconds since the epoch as the value of the page's
// datetime-local inputs, which the page reads as UTC.
function inputValue(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19);
}

function videoState() {
  const video = document.getElementById('video');
  return {
    src: video.currentSrc,
    currentTime: video.currentTime,
    duration: video.duration,
    readyState: video.readyState,
    ended: video.ended,
    seeking: video.seeking,
    error: video.error ? video.error.message || String(video.error.code) : '',
    status: document.getElementById('video-state').textContent,
  };
}

test('playback tab plays two segments', { timeout: 150000 }, async (t) => {
  await withWorkspace('playback', async (ws) => {
    // A keyframe every second lets the recorder cut a segment every 5 s.
    const camera = await ws.camera(FOOTAGE_ONE_SECOND_GOP);
    const daemon = await ws.daemon({ segmentSeconds: SEGMENT_SECONDS });
    const startedUs = Date.now() * 1000;
    const cameraId = await daemon.addCamera('Yard', camera.url);
    await daemon.waitStreaming(cameraId, 20000);

    // About 15 s of recording: wait for two closed segments.
    const recordings = await waitFor(async () => {
      const query = `from=${startedUs - 60e6}&to=${Date.now() * 1000 + 60e6}`;
      const { body } = await daemon.request(
        'GET', `/api/v1/cameras/${cameraId}/recordings?${query}`);
      return body.recordings.length >= 2 && body.recordings;
    }, 45000, 'two recorded segments');
    const [first, second] = recordings;
    t.diagnostic(`segments: ${recordings.map((r) =>
      ((r.end_us - r.start_us) / 1e6).toFixed(2) + ' s').join(', ')}`);

    // From 1-2 s into the first segment to 3-4 s into the second one;
    // the inputs take whole seconds.
    const from = Math.ceil(first.start_us / 1e6) + 1;
    const to = Math.floor(second.start_us / 1e6) + 4;
    assert.ok(to * 1e6 <= second.end_us, 'second segment shorter than 4 s');
    const boundary = second.start_us / 1e6 - from;

    const browser = await ws.browser();
    await browser.signIn(daemon);
    const page = browser.page;
    await page.goto(daemon.origin + '/');
    await page.locator(`#cameras button[data-camera-id="${cameraId}"]`)
      .waitFor({ timeout: 10000 });
    await page.click('#tab-playback');
    await page.locator('#playback-form').waitFor({ state: 'visible' });
    await page.fill('#from', inputValue(from));
    await page.fill('#to', inputValue(to));
    await page.click('#playback-form button[type="submit"]');

    const expectedUrl = `/api/v1/cameras/${cameraId}/playback.mp4?` +
      `stream=main&from=${from * 1e6}&to=${to * 1e6}`;
    // The download link is an export: the same range with download=1.
    assert.equal(await page.getAttribute('#download', 'href'),
                 expectedUrl + '&download=1');
    await page.locator('#recordings li', { hasText: 'recording' }).nth(1)
      .waitFor({ timeout: 10000 });

    // Plays: metadata arrives and currentTime advances.
    const loaded = await waitFor(async () => {
      const state = await page.evaluate(videoState);
      if (state.error) return state;
      return state.readyState >= 1 && state;
    }, 20000, 'the playback MP4 to load');
    assert.equal(loaded.error, '');
    assert.equal(loaded.src, daemon.origin + expectedUrl);
    assert.equal(loaded.status, 'playback');
    // The export may begin at the keyframe before "from", up to 1 s early.
    const span = to - from;
    t.diagnostic(`range ${span} s, segment boundary at ` +
                 `${boundary.toFixed(2)} s, video duration ` +
                 `${loaded.duration.toFixed(2)} s`);
    assert.ok(loaded.duration >= span - 0.5,
              `duration ${loaded.duration} s for a ${span} s range`);
    assert.ok(loaded.duration <= span + 1.5,
              `duration ${loaded.duration} s for a ${span} s range`);
    const currentTime = () => page.evaluate(
      () => document.getElementById('video').currentTime);
    await waitFor(async () => (await currentTime()) >= 1.5, 15000,
                  'video.currentTime to reach 1.5 s');

    // Seek back into the first segment, then into the second one, and
    // play on to the end. The export starts up to 1 s before "from", so
    // the boundary in the video is that much later.
    const videoBoundary = boundary + (loaded.duration - span);
    const targets = [0.5, loaded.duration - 2];
    assert.ok(targets[0] < videoBoundary, 'first seek is past the boundary');
    assert.ok(targets[1] > videoBoundary + 0.5,
              'second seek is not in the second segment');
    for (const target of targets) {
      await page.evaluate((seconds) => new Promise((resolve) => {
        const video = document.getElementById('video');
        video.addEventListener('seeked', resolve, { once: true });
        video.currentTime = seconds;
      }), target);
      const afterSeek = await page.evaluate(videoState);
      assert.ok(Math.abs(afterSeek.currentTime - target) < 0.5,
                `currentTime ${afterSeek.currentTime} s after a seek to ` +
                `${target} s`);
      await waitFor(async () => (await currentTime()) >= target + 0.5, 10000,
                    `currentTime to advance after the seek to ${target} s`);
    }
    const ended = await waitFor(async () => {
      const state = await page.evaluate(videoState);
      return state.ended && state;
    }, 15000, 'playback to reach the end after the seek');
    assert.equal(ended.error, '');
    assert.ok(Math.abs(ended.currentTime - loaded.duration) < 0.5,
              `ended at ${ended.currentTime} s of ${loaded.duration} s`);

    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(browser.consoleErrors, [], 'console errors in the page');
  });
});
