// Low-Latency HLS in Chromium: Chromium has no native HLS, so the page
// plays the daemon's LL-HLS playlist with a small loader on Media Source
// Extensions (bench/live/players.mjs): blocking playlist reloads, parts,
// and recovery after the test takes the browser offline for 4 s. The
// multiplexed WebSocket plays in the same page.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { playHls, playMux, preparePage } from '../../bench/live/players.mjs';
import { sleep, waitFor, withWorkspace } from './vmstest.mjs';

function playerState() {
  const video = document.getElementById('video');
  const p = window.vmsPlayer;
  return {
    currentTime: video.currentTime,
    error: video.error ? String(video.error.code) : '',
    width: video.videoWidth,
    parts: p.parts ?? p.fragments,
    errors: p.errors,
    resyncs: p.resyncs ?? 0,
    lastError: p.lastError,
    arrival: p.arrival.slice(-20),
    playback: p.playback.slice(-20).map((s) => s.latency),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Opens a daemon URL (its JSON is replaced) and prepares it for a
// player.
async function openPlayerPage(page, origin) {
  await page.goto(origin + '/api/v1/status');
  await page.evaluate(preparePage);
}

async function waitAdvance(page, seconds, what) {
  const start = await page.evaluate(playerState);
  return waitFor(async () => {
    const now = await page.evaluate(playerState);
    return now.currentTime - start.currentTime >= seconds && now;
  }, 30000, what);
}

test('LL-HLS plays and recovers from a network stall', { timeout: 170000 },
  async (t) => {
    await withWorkspace('hls', async (ws) => {
      const camera = await ws.camera();
      const daemon = await ws.daemon();
      const cameraId = await daemon.addCamera('Gate', camera.url);
      await daemon.waitStreaming(cameraId, 20000);
      const { body } = await daemon.request('GET',
                                            `/api/v1/cameras/${cameraId}`);
      const mime = body.streams.main.mime;

      const browser = await ws.browser();
      const page = browser.page;
      await openPlayerPage(page, daemon.origin);
      await page.evaluate(playHls, {
        playlist: `/api/v1/cameras/${cameraId}/hls/index.m3u8?stream=main`,
        mime,
      });

      let now = await waitAdvance(page, 3, 'HLS playback to advance 3 s');
      assert.equal(now.error, '');
      assert.equal(now.width, 768);
      assert.equal(now.errors, 0, now.lastError);
      const parts = now.parts;
      // Parts follow the live edge one by one (about 2 per second).
      now = await waitAdvance(page, 3, 'HLS playback to advance 3 s more');
      assert.ok(now.parts - parts >= 4, `${now.parts - parts} new parts`);
      t.diagnostic(`LL-HLS: part arrival p50 ${median(now.arrival)} ms ` +
                   'after its first sample; playback latency p50 ' +
                   `${median(now.playback)} ms`);

      // The browser goes offline for 4 s: requests fail, the loader
      // retries, and playback resumes once the network is back.
      await browser.context.setOffline(true);
      await sleep(4000);
      await browser.context.setOffline(false);
      const stalled = await page.evaluate(playerState);
      assert.ok(stalled.errors > 0, 'no request failed while offline');
      now = await waitAdvance(page, 2, 'HLS playback to resume');
      assert.ok(now.parts > stalled.parts, 'no part after the stall');
      assert.equal(now.error, '');
      t.diagnostic(`after the stall: ${stalled.errors} failed requests, ` +
                   `${now.resyncs} restarts at a keyframe`);

      assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    });
  });

test('multiplexed WebSocket plays in MSE', { timeout: 120000 },
  async (t) => {
    await withWorkspace('mux', async (ws) => {
      const camera = await ws.camera();
      const daemon = await ws.daemon();
      const cameraId = await daemon.addCamera('Dock', camera.url);
      await daemon.waitStreaming(cameraId, 20000);

      const browser = await ws.browser();
      const page = browser.page;
      await openPlayerPage(page, daemon.origin);
      await page.evaluate(playMux,
                          { url: `/api/v1/live?streams=${cameraId}:main` });
      const now = await waitAdvance(page, 3, 'MSE playback to advance 3 s');
      assert.equal(now.error, '');
      assert.equal(now.width, 768);
      assert.equal(now.errors, 0);
      t.diagnostic(`MSE: fragment arrival p50 ${median(now.arrival)} ms ` +
                   'after its first sample; playback latency p50 ' +
                   `${median(now.playback)} ms`);
      assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    });
  });
