// Low-Latency HLS in Chromium: Chromium has no native HLS, so the page
// plays the daemon's LL-HLS playlist with a small loader on Media Source
// Extensions (bench/live/players.mjs): blocking playlist reloads, parts,
// and recovery after the test takes the browser offline for 4 s. The
// multiplexed WebSocket plays in the same page. The operator page falls
// back to the sub stream, native HLS, then snapshots, when the browser
// rejects a stream's codec: for real with an H.265 main stream, and by
// rejecting codecs in the page for the rest.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { playHls, playMux, preparePage } from '../../bench/live/players.mjs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { FAKE_CAMERA, FOOTAGE, FOOTAGE_ONE_SECOND_GOP, FakeCamera, medianMs,
         sleep, waitAdvance, waitFor, withWorkspace } from './vmstest.mjs';

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

// Opens a daemon URL (its JSON is replaced) and prepares it for a
// player.
async function openPlayerPage(page, origin) {
  await page.goto(origin + '/api/v1/status');
  await page.evaluate(preparePage);
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
      await browser.signIn(daemon);
      const page = browser.page;
      await openPlayerPage(page, daemon.origin);
      await page.evaluate(playHls, {
        playlist: `/api/v1/cameras/${cameraId}/hls/index.m3u8?stream=main`,
        mime,
      });

      let now = await waitAdvance(page, playerState, 3,
                                  'HLS playback to advance 3 s');
      assert.equal(now.error, '');
      assert.equal(now.width, 768);
      assert.equal(now.errors, 0, now.lastError);
      const parts = now.parts;
      // Parts follow the live edge one by one (about 2 per second).
      now = await waitAdvance(page, playerState, 3,
                              'HLS playback to advance 3 s more');
      assert.ok(now.parts - parts >= 4, `${now.parts - parts} new parts`);
      t.diagnostic(`LL-HLS: part arrival p50 ${medianMs(now.arrival)} ` +
                   'after its first sample; playback latency p50 ' +
                   medianMs(now.playback));

      // The browser goes offline for 4 s: requests fail, the loader
      // retries, and playback resumes once the network is back.
      await browser.context.setOffline(true);
      await sleep(4000);
      await browser.context.setOffline(false);
      const stalled = await page.evaluate(playerState);
      assert.ok(stalled.errors > 0, 'no request failed while offline');
      now = await waitAdvance(page, playerState, 2, 'HLS playback to resume');
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
      await browser.signIn(daemon);
      const page = browser.page;
      await openPlayerPage(page, daemon.origin);
      await page.evaluate(playMux,
                          { url: `/api/v1/live?streams=${cameraId}:main` });
      const now = await waitAdvance(page, playerState, 3,
                                    'MSE playback to advance 3 s');
      assert.equal(now.error, '');
      assert.equal(now.width, 768);
      assert.equal(now.errors, 0);
      t.diagnostic(`MSE: fragment arrival p50 ${medianMs(now.arrival)} ` +
                   'after its first sample; playback latency p50 ' +
                   medianMs(now.playback));
      assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
    });
  });

// Rejects, in the page, every MIME type that contains reject (all of
// them when reject is empty), as a browser without that codec would.
// With noHls, the page also reports no native HLS.
function rejectCodec({ reject, noHls }) {
  const supported = MediaSource.isTypeSupported.bind(MediaSource);
  MediaSource.isTypeSupported = (mime) =>
    (reject !== '' && !mime.includes(reject)) && supported(mime);
  if (noHls) {
    const canPlay = HTMLMediaElement.prototype.canPlayType;
    HTMLMediaElement.prototype.canPlayType = function (type) {
      return type.includes('mpegurl') ? '' : canPlay.call(this, type);
    };
  }
}

test('operator page falls back: sub stream, HLS, snapshots',
  { timeout: 150000 }, async (t) => {
    await withWorkspace('fallback', async (ws) => {
      // Main: H.264 with AAC; sub: H.264 alone, so rejecting "mp4a"
      // rejects the main stream only.
      const camera = new FakeCamera('camera', [
        FAKE_CAMERA, '--file', FOOTAGE, '--port', '0', '--sub-mount', '/sub',
        '--sub-file', FOOTAGE_ONE_SECOND_GOP], path.join(ws.dir,
                                                         'camera.log'));
      try {
        const match = await waitFor(
          () => /ready (rtsp:\/\/\S+)/.exec(camera.stdoutText), 10000,
          'the test camera to listen');
        const daemon = await ws.daemon();
        const { status, body } = await daemon.request(
          'POST', '/api/v1/cameras', {
            name: 'Gate', main_url: match[1],
            sub_url: match[1].replace('/main', '/sub'),
          });
        assert.equal(status, 201, JSON.stringify(body));
        await waitFor(async () => {
          const cam = (await daemon.request('GET',
                                            `/api/v1/cameras/${body.id}`)).body;
          return cam.streams.main.mime && cam.streams.sub &&
            cam.streams.sub.mime;
        }, 30000, 'both streams to report their MIME types');

        const browser = await ws.browser();
        await browser.signIn(daemon);
        const page = browser.page;
        await page.addInitScript(rejectCodec, { reject: 'mp4a' });
        await page.goto(daemon.origin + '/');
        const start = await waitFor(() => page.evaluate(
          () => document.getElementById('video').currentTime > 0 &&
            document.getElementById('video').currentTime), 20000,
        'the sub stream to play');
        await waitFor(() => page.evaluate(
          (from) => document.getElementById('video').currentTime >= from + 2,
          start), 20000, 'the sub stream to advance 2 s');
        assert.ok(browser.webSockets.some((url) => url.endsWith(
          `/api/v1/cameras/${body.id}/live?stream=sub`)),
                  browser.webSockets.join(' '));
        assert.ok(!browser.webSockets.some((url) => url.includes(
          'stream=main')), browser.webSockets.join(' '));
        t.diagnostic('without the main stream\'s codec the page plays ' +
                     'the sub stream');

        // Without MSE, Chromium 156 plays native HLS (the page retries
        // while the new HLS window has a single segment).
        const hls = await browser.context.newPage();
        await hls.addInitScript(rejectCodec, { reject: '' });
        await hls.goto(daemon.origin + '/');
        if (await hls.evaluate(() => document.createElement('video')
          .canPlayType('application/vnd.apple.mpegurl') !== '')) {
          const hlsStart = Date.now();
          await waitFor(() => hls.evaluate(
            () => document.getElementById('video').currentTime > 2 &&
              document.getElementById('video-state').textContent ===
                'live (HLS)'), 60000, 'native HLS to play 2 s');
          t.diagnostic('without MSE the page plays native HLS after ' +
                       `${Date.now() - hlsStart} ms`);
        } else {
          t.diagnostic('this Chromium has no native HLS: not tested');
        }
        await hls.close();

        // Without any codec and without native HLS, snapshots.
        const second = await browser.context.newPage();
        await second.addInitScript(rejectCodec, { reject: '', noHls: true });
        await second.goto(daemon.origin + '/');
        const first = await waitFor(() => second.evaluate(() => {
          const img = document.getElementById('snapshot');
          return !img.hidden && img.complete && img.naturalWidth > 0 &&
            img.src;
        }), 20000, 'a snapshot to show');
        await sleep(2500);
        const later = await second.evaluate(() => ({
          src: document.getElementById('snapshot').src,
          width: document.getElementById('snapshot').naturalWidth,
          status: document.getElementById('video-state').textContent,
          videoHidden: document.getElementById('video').hidden,
        }));
        assert.notEqual(later.src, first, 'the snapshot was not refreshed');
        assert.ok(later.width > 0);
        assert.equal(later.status, 'snapshots every second');
        assert.equal(later.videoHidden, true);
        assert.deepEqual(browser.pageErrors, [],
                         'uncaught errors in the page');
      } finally {
        await camera.stop();
      }
    });
  });

test('H.265 main stream falls back to the H.264 sub stream',
  { timeout: 150000 }, async (t) => {
    await withWorkspace('h265', async (ws) => {
      const clip = path.join(ws.dir, 'h265.mp4');
      execFileSync('ffmpeg', [
        '-nostdin', '-v', 'error', '-i', FOOTAGE, '-t', '8', '-an',
        '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params',
        'keyint=12:min-keyint=12:log-level=error', '-tag:v', 'hvc1', clip,
      ], { timeout: 120000 });
      const camera = new FakeCamera('camera', [
        FAKE_CAMERA, '--file', clip, '--port', '0', '--sub-mount', '/sub',
        '--sub-file', FOOTAGE_ONE_SECOND_GOP], path.join(ws.dir,
                                                         'camera.log'));
      try {
        const match = await waitFor(
          () => /ready (rtsp:\/\/\S+)/.exec(camera.stdoutText), 10000,
          'the test camera to listen');
        const daemon = await ws.daemon();
        const { body } = await daemon.request('POST', '/api/v1/cameras', {
          name: 'Yard', main_url: match[1],
          sub_url: match[1].replace('/main', '/sub'),
        });
        const streams = await waitFor(async () => {
          const cam = (await daemon.request('GET',
                                            `/api/v1/cameras/${body.id}`)).body;
          return cam.streams.main.mime && cam.streams.sub &&
            cam.streams.sub.mime && cam.streams;
        }, 30000, 'both streams to report their MIME types');
        assert.match(streams.main.codec, /^hvc1\./);
        assert.match(streams.sub.codec, /^avc1\./);

        const browser = await ws.browser();
        await browser.signIn(daemon);
        const page = browser.page;
        await page.goto(daemon.origin + '/');
        const hevc = await page.evaluate(
          (mime) => MediaSource.isTypeSupported(mime), streams.main.mime);
        const expected = hevc ? 'main' : 'sub';
        await waitFor(() => page.evaluate(
          () => document.getElementById('video').currentTime > 2), 30000,
        `the ${expected} stream to play 2 s`);
        assert.ok(browser.webSockets.some((url) => url.endsWith(
          `/live?stream=${expected}`)), browser.webSockets.join(' '));
        t.diagnostic(`this Chromium ${hevc ? 'decodes' : 'cannot decode'} ` +
                     `${streams.main.codec} in MSE: the page played the ` +
                     `${expected} stream`);
        assert.deepEqual(browser.pageErrors, [],
                         'uncaught errors in the page');
      } finally {
        await camera.stop();
      }
    });
  });
