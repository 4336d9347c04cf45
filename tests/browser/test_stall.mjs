// Live view recovery on the operator page (MSE over WebSocket): after
// the browser is offline for 4 s, and after the camera stops for 6 s and
// comes back on the same port (a new init segment), the <video> plays
// again at the live edge without a reload of the page.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { FAKE_CAMERA, FOOTAGE, FakeCamera, sleep, waitFor,
         withWorkspace } from './vmstest.mjs';

function videoState() {
  const video = document.getElementById('video');
  const buffered = video.buffered;
  return {
    currentTime: video.currentTime,
    error: video.error ? String(video.error.code) : '',
    lag: buffered.length ?
      buffered.end(buffered.length - 1) - video.currentTime : 0,
    status: document.getElementById('video-state').textContent,
  };
}

async function waitPlaying(page, seconds, what) {
  const start = await page.evaluate(videoState);
  return waitFor(async () => {
    const now = await page.evaluate(videoState);
    return now.currentTime - start.currentTime >= seconds &&
      now.status === 'live' && now;
  }, 40000, what);
}

test('live view recovers from stalls', { timeout: 170000 }, async (t) => {
  await withWorkspace('stall', async (ws) => {
    const camera = await ws.camera();
    const port = new URL(camera.url).port;
    const daemon = await ws.daemon();
    const cameraId = await daemon.addCamera('Gate', camera.url);
    await daemon.waitStreaming(cameraId, 20000);

    const browser = await ws.browser();
    await browser.signIn(daemon);
    const page = browser.page;
    await page.goto(daemon.origin + '/');
    await waitPlaying(page, 2, 'the live view to play 2 s');

    // A network stall: the page's connection loses 4 s of data or is
    // closed; either way playback continues near the live edge.
    await browser.context.setOffline(true);
    await sleep(4000);
    await browser.context.setOffline(false);
    let now = await waitPlaying(page, 2, 'playback after the network stall');
    assert.equal(now.error, '');
    assert.ok(now.lag < 3, `${now.lag.toFixed(2)} s behind the live edge`);
    t.diagnostic(`after 4 s offline: ${now.lag.toFixed(2)} s buffered ` +
                 'ahead of playback');

    // The camera stops for 6 s and restarts on the same port: the daemon
    // reconnects with a new init segment and the page starts over.
    // By PID: the workspace stops (and closes the log of) the first
    // camera when the test ends.
    process.kill(camera.pid, 'SIGTERM');
    await camera.exited;
    await sleep(6000);
    const stalled = await page.evaluate(videoState);
    const restarted = new FakeCamera(
      'camera2', [FAKE_CAMERA, '--file', FOOTAGE, '--port', port],
      path.join(ws.dir, 'camera2.log'));
    try {
      await waitFor(() => /ready/.test(restarted.stdoutText), 10000,
                    'the restarted camera to listen');
      const restartedAt = Date.now();
      now = await waitPlaying(page, 2, 'playback after the camera returned');
      assert.equal(now.error, '');
      assert.notEqual(stalled.status, 'live',
                      'the page did not notice the camera stop');
      t.diagnostic(`camera back: playing again after ` +
                   `${Date.now() - restartedAt} ms (the daemon retries ` +
                   'within 4 s)');
    } finally {
      await restarted.stop();
    }
    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
  });
});
