// Measures live latency in Debian's Chromium: the multiplexed WebSocket
// (MSE), the daemon's LL-HLS, and optionally another HLS playlist (for
// example FFmpeg's hls muxer fed from the same camera). Prints one JSON
// object. Run by bench/live/run.py; by hand:
//
//   node bench/live/chromium.mjs ORIGIN CAMERA_ID MIME SECONDS [HLS_URL]
//
// It launches its own browser (playwright-core from tests/browser) with
// CSP bypassed, so that the page on the daemon's origin may fetch the
// other HLS server's files.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { playHls, playMux, preparePage } from './players.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.resolve(HERE, '..', '..');
const playwright = await import(path.join(
  SOURCE, 'tests', 'browser', 'node_modules', 'playwright-core',
  'index.mjs'));

const [origin, cameraId, mime, secondsText, otherHls] = process.argv.slice(2);
if (!origin || !cameraId || !mime || !secondsText) {
  console.error('usage: chromium.mjs ORIGIN CAMERA_ID MIME SECONDS ' +
                '[HLS_URL]');
  process.exit(2);
}
const seconds = Number(secondsText);

function quantile(values, q) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1,
                                    Math.floor(q * sorted.length))]);
}

function summarize(player) {
  const latency = player.playback.map((s) => s.latency);
  const buffer = player.playback.map((s) => s.buffer * 1000);
  return {
    samples: latency.length,
    fragments: player.parts ?? player.fragments,
    errors: player.errors,
    stalls: player.stalls,
    arrival_ms: { p50: quantile(player.arrival, 0.5),
                  p99: quantile(player.arrival, 0.99) },
    playback_ms: { p50: quantile(latency, 0.5),
                   p99: quantile(latency, 0.99) },
    buffer_ahead_ms: { p50: quantile(buffer, 0.5),
                       p99: quantile(buffer, 0.99) },
  };
}

// Plays with player(options) for the given seconds, dropping the first
// 5 s (start-up), and returns the summary.
async function measure(context, player, options) {
  const page = await context.newPage();
  try {
    await page.goto(origin + '/api/v1/health');
    await page.evaluate(preparePage);
    await page.evaluate(player, options);
    await page.waitForTimeout(5000);
    await page.evaluate(() => {
      window.vmsPlayer.arrival.length = 0;
      window.vmsPlayer.playback.length = 0;
      window.vmsPlayer.stalls = 0;
    });
    await page.waitForTimeout(seconds * 1000);
    return summarize(await page.evaluate(() => window.vmsPlayer));
  } finally {
    await page.close();
  }
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vms-bench-chromium-'));
const context = await playwright.chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  bypassCSP: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
// The session that run.py signed in (VMS_SESSION), as the page's cookie.
if (process.env.VMS_SESSION) {
  await context.addCookies([{ name: 'vms_session',
                              value: process.env.VMS_SESSION,
                              url: origin }]);
}
try {
  const result = {
    mse: await measure(context, playMux,
                       { url: `/api/v1/live?streams=${cameraId}:main` }),
    ll_hls: await measure(context, playHls, {
      playlist: `/api/v1/cameras/${cameraId}/hls/index.m3u8?stream=main`,
      mime,
    }),
  };
  if (otherHls) {
    result.other_hls = await measure(context, playHls,
                                     { playlist: otherHls, mime });
  }
  console.log(JSON.stringify(result));
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
