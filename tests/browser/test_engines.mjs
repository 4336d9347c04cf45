// Other browser engines: Debian's Firefox ESR (Gecko) and WebKitGTK (the
// engine of Safari). Each signs in through the operator page and plays
// live video through Media Source Extensions. Then it plays the daemon's
// LL-HLS with the loader of bench/live/players.mjs, and the multiplexed
// WebSocket. The other browser tests run in Chromium.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { playHls, playMux, preparePage } from '../../bench/live/players.mjs';
import { waitFor, withWorkspace } from './vmstest.mjs';

function videoState() {
  const video = document.getElementById('video');
  const quality = video.getVideoPlaybackQuality();
  const player = window.vmsPlayer || {};
  return {
    currentTime: video.currentTime,
    paused: video.paused,
    error: video.error ? video.error.message || String(video.error.code) : '',
    width: video.videoWidth,
    frames: quality.totalVideoFrames,
    title: (document.getElementById('viewer-title') || {}).textContent,
    errors: player.errors ?? 0,
    lastError: player.lastError ?? '',
    arrival: (player.arrival || []).slice(-20),
    playback: (player.playback || []).slice(-20).map((s) => s.latency),
  };
}

// Returns the median as a string with its unit, or "no samples".
function median(values) {
  if (!values.length) return 'no samples';
  const sorted = [...values].sort((a, b) => a - b);
  return `${Math.round(sorted[Math.floor(sorted.length / 2)])} ms`;
}

async function waitAdvance(browser, seconds, what) {
  const start = await browser.evaluate(videoState);
  return waitFor(async () => {
    const now = await browser.evaluate(videoState);
    return now.currentTime - start.currentTime >= seconds && now;
  }, 30000, what);
}

// Runs attempt(), and once more when WebKitGTK's web process crashed
// (WebDriver then reports "invalid session id"). WebKitGTK 2.50 on Xvfb
// crashed in one of six runs of the live page, with the same stream that
// the other runs played. The cause inside WebKit is not known.
async function withCrashRetry(t, engine, attempt) {
  try {
    await attempt();
  } catch (err) {
    if (engine !== 'webkit' || !/invalid session id/.test(String(err))) {
      throw err;
    }
    t.diagnostic(`WebKitGTK's web process crashed (${err.message}): ` +
                 'trying once more');
    await attempt();
  }
}

for (const engine of ['firefox', 'webkit']) {
  test(`operator page plays live in ${engine}`, { timeout: 150000 },
    async (t) => withCrashRetry(t, engine, async () => {
      await withWorkspace(`${engine}-live`, async (ws) => {
        const camera = await ws.camera();
        const daemon = await ws.daemon();
        const cameraId = await daemon.addCamera('Gate', camera.url);
        await daemon.waitStreaming(cameraId, 20000);

        const browser = await ws[engine]();
        await browser.signInWithForm(daemon);
        await waitFor(async () => (await browser.evaluate(videoState))
          .title === 'Gate', 10000, 'the viewer title to name the camera');
        const start = await waitFor(async () => {
          const state = await browser.evaluate(videoState);
          return state.currentTime > 0 && state;
        }, 20000, 'the live video to start (currentTime > 0)');
        const now = await waitAdvance(browser, 2,
                                      'currentTime to advance 2 s');
        t.diagnostic(`${now.frames - start.frames} frames decoded while ` +
                     'currentTime advanced by ' +
                     `${(now.currentTime - start.currentTime).toFixed(2)} s`);

        assert.equal(now.error, '');
        assert.equal(now.paused, false);
        assert.equal(now.width, 768);
        // WebKitGTK on Xvfb counts the frames it painted, which were 5 to
        // 26 in these 2 s across runs, so the check is that decoding goes on.
        assert.ok(now.frames > start.frames,
                  `no frame decoded while currentTime advanced`);
        if (browser.requests) {
          // data: URLs (the page's empty icon) never leave the browser.
          const foreign = browser.requests.filter(
            (url) => !url.startsWith('data:') &&
              new URL(url).origin !== daemon.origin);
          assert.deepEqual(foreign, [], 'requests to other origins');
          assert.deepEqual(browser.pageErrors, [],
                           'uncaught errors in the page');
        }
      });
    }));

  test(`LL-HLS and multiplexed WebSocket play in ${engine}`,
    { timeout: 150000 }, async (t) => withCrashRetry(t, engine, async () => {
      await withWorkspace(`${engine}-players`, async (ws) => {
        const camera = await ws.camera();
        const daemon = await ws.daemon();
        const cameraId = await daemon.addCamera('Dock', camera.url);
        await daemon.waitStreaming(cameraId, 20000);
        const { body } = await daemon.request(
          'GET', `/api/v1/cameras/${cameraId}`);

        const browser = await ws[engine]();
        await browser.signInWithForm(daemon);
        const players = [
          ['LL-HLS', playHls, {
            playlist: `/api/v1/cameras/${cameraId}/hls/index.m3u8` +
              '?stream=main',
            mime: body.streams.main.mime,
          }],
          ['MSE', playMux, { url: `/api/v1/live?streams=${cameraId}:main` }],
        ];
        for (const [name, player, options] of players) {
          await browser.goto(daemon.origin + '/api/v1/health');
          await browser.evaluate(preparePage);
          await browser.evaluate(player, options);
          const now = await waitAdvance(browser, 3,
                                        `${name} playback to advance 3 s`);
          assert.equal(now.error, '', name);
          assert.equal(now.width, 768, name);
          assert.equal(now.errors, 0, `${name}: ${now.lastError}`);
          t.diagnostic(`${name}: arrival p50 ${median(now.arrival)} ` +
                       'after the first sample, age on screen p50 ' +
                       median(now.playback));
        }
      });
    }));
}
