// Grid mode of the operator page: three cameras in one grid, their
// MSE tiles on one multiplexed WebSocket (/api/v1/live?streams=...), a
// tile whose codec MSE rejects on snapshots, recovery after the daemon
// stops sending for 7 s without closing the socket, and a click on a
// tile that opens the camera's single view.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { FAKE_CAMERA, FOOTAGE, FOOTAGE_ONE_SECOND_GOP, FakeCamera, sleep,
         waitFor, withWorkspace } from './vmstest.mjs';

// How long the daemon is stopped (SIGSTOP), and how long the tiles may
// take to play again after SIGCONT.
const STALL_MS = 7000;
const RECOVERY_MS = 15000;
// The page reopens a grid socket that delivers nothing for 5 s
// (LIVE_STALL_MS in web/app.js) and checks every second. If it has not
// reopened the grid after STALL_MS, the daemon stays stopped up to this
// long in all, so that a slow machine still shows the reopening while
// no data can arrive.
const WATCHDOG_WAIT_MS = 10000;

// Rejects, in the page, every MIME type that contains "mp4a" (AAC), as a
// browser without that codec would, and reports no native HLS, so that a
// camera with AAC and no sub stream falls back to snapshots.
function rejectAac() {
  const supported = MediaSource.isTypeSupported.bind(MediaSource);
  MediaSource.isTypeSupported = (mime) =>
    !mime.includes('mp4a') && supported(mime);
  const canPlay = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return type.includes('mpegurl') ? '' : canPlay.call(this, type);
  };
}

// Returns the state of each grid tile by camera name. A tile's progress
// is measured from the first time this function saw its <video> or
// <img> element, because the page replaces all tiles when it reopens
// the grid: advanced is the seconds of video played since then, and
// newSnapshots is true once another snapshot than the first one seen
// has loaded.
function gridTiles() {
  window.gridFirstTime = window.gridFirstTime || new WeakMap();
  window.gridFirstSnapshot = window.gridFirstSnapshot || new WeakMap();
  const tiles = {};
  for (const tile of document.querySelectorAll('#grid figure')) {
    const video = tile.querySelector('video');
    const img = tile.querySelector('img');
    if (!window.gridFirstTime.has(video)) {
      window.gridFirstTime.set(video, video.currentTime);
    }
    const loaded = img.complete && img.naturalWidth > 0 && img.src;
    if (loaded && !window.gridFirstSnapshot.has(img)) {
      window.gridFirstSnapshot.set(img, img.src);
    }
    tiles[img.alt] = {
      caption: tile.querySelector('figcaption').textContent,
      videoHidden: video.hidden,
      currentTime: video.currentTime,
      advanced: video.currentTime - window.gridFirstTime.get(video),
      error: video.error ? video.error.message || String(video.error.code) :
        '',
      snapshotHidden: img.hidden,
      snapshotWidth: img.naturalWidth,
      newSnapshots: Boolean(loaded) &&
        window.gridFirstSnapshot.get(img) !== img.src,
    };
  }
  return tiles;
}

// Waits until every video tile in videoNames has played 1 s and every
// tile in snapshotNames has loaded a second snapshot. Returns the tiles.
async function waitTilesPlaying(page, videoNames, snapshotNames, timeoutMs,
                                what) {
  return waitFor(async () => {
    const tiles = await page.evaluate(gridTiles);
    const names = Object.keys(tiles).sort();
    if (names.join() !== [...videoNames, ...snapshotNames].sort().join()) {
      return false;
    }
    for (const name of videoNames) {
      if (tiles[name].videoHidden || tiles[name].advanced < 1) return false;
    }
    for (const name of snapshotNames) {
      if (tiles[name].snapshotHidden || !tiles[name].newSnapshots) {
        return false;
      }
    }
    return tiles;
  }, timeoutMs, what);
}

// Starts a test camera with its own log file. sub is the file of its sub
// stream (mount /sub), or null for a camera without one.
async function startCamera(dir, name, footage, sub) {
  const args = [FAKE_CAMERA, '--file', footage, '--port', '0'];
  if (sub) args.push('--sub-mount', '/sub', '--sub-file', sub);
  const camera = new FakeCamera(name, args, path.join(dir, name + '.log'));
  const match = await waitFor(
    () => /ready (rtsp:\/\/\S+)/.exec(camera.stdoutText) ||
      (!camera.alive() && 'exited'),
    10000, `test camera ${name} to print its ready line`);
  if (match === 'exited') {
    throw new Error(`test camera ${name} exited:\n` + camera.output());
  }
  camera.url = match[1];
  return camera;
}

// The grid's socket: pathname /api/v1/live (the single view uses
// /api/v1/cameras/ID/live).
function isGridSocket(url) {
  return new URL(url).pathname === '/api/v1/live';
}

test('grid plays, recovers from a stall, opens a camera',
  { timeout: 170000 }, async (t) => {
    await withWorkspace('grid', async (ws) => {
      const cameras = [];
      try {
        // Gate: main H.264 with AAC, sub H.264 alone, so the grid plays
        // its sub stream. Dock: H.264 alone, no sub stream. Yard: H.264
        // with AAC and no sub stream, which rejectAac keeps out of MSE.
        const gate = await startCamera(ws.dir, 'gate', FOOTAGE,
                                       FOOTAGE_ONE_SECOND_GOP);
        cameras.push(gate);
        const dock = await startCamera(ws.dir, 'dock',
                                       FOOTAGE_ONE_SECOND_GOP, null);
        cameras.push(dock);
        const yard = await startCamera(ws.dir, 'yard', FOOTAGE, null);
        cameras.push(yard);

        const daemon = await ws.daemon();
        const created = await daemon.request('POST', '/api/v1/cameras', {
          name: 'Gate', main_url: gate.url,
          sub_url: gate.url.replace('/main', '/sub'),
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const gateId = created.body.id;
        const dockId = await daemon.addCamera('Dock', dock.url);
        const yardId = await daemon.addCamera('Yard', yard.url);
        await waitFor(async () => {
          for (const id of [gateId, dockId, yardId]) {
            const { body } = await daemon.request('GET',
                                                  `/api/v1/cameras/${id}`);
            if (!body.streams.main.mime) return false;
            if (id === gateId && !(body.streams.sub &&
                                   body.streams.sub.mime)) {
              return false;
            }
          }
          return true;
        }, 30000, 'every stream to report its MIME type');

        const browser = await ws.browser();
        await browser.signIn(daemon);
        const page = browser.page;
        // Each grid socket: its URL, the test's Date.now() when the page
        // opened it, and playwright's WebSocket.
        const gridSockets = [];
        page.on('websocket', (socket) => {
          if (!isGridSocket(socket.url())) return;
          gridSockets.push({ url: socket.url(), openedAt: Date.now(),
                             socket });
        });
        await page.addInitScript(rejectAac);
        await page.goto(daemon.origin + '/');
        await waitFor(async () => (await page.textContent('#viewer-title')) ===
                      'Gate', 10000, 'the page to select the first camera');
        await page.click('#tab-grid');

        // 1. Every tile plays, and the two MSE tiles share one socket.
        const gridStart = Date.now();
        let tiles = await waitTilesPlaying(
          page, ['Gate', 'Dock'], ['Yard'], 20000,
          'Gate and Dock to play 1 s and Yard to show snapshots');
        t.diagnostic(`grid playing after ${Date.now() - gridStart} ms`);
        for (const name of ['Gate', 'Dock']) {
          assert.equal(tiles[name].error, '', `${name}: video error`);
          assert.equal(tiles[name].snapshotHidden, true,
                       `${name}: snapshot shown in an MSE tile`);
        }
        assert.equal(tiles.Yard.videoHidden, true,
                     'Yard: video shown in a snapshot tile');
        assert.ok(tiles.Yard.snapshotWidth > 0, 'Yard: empty snapshot');
        assert.match(tiles.Yard.caption, /^Yard/);
        assert.equal(gridSockets.length, 1,
                     gridSockets.map((s) => s.url).join(' '));
        assert.equal(new URL(gridSockets[0].url).searchParams.get('streams'),
                     `${gateId}:sub,${dockId}:main`);
        assert.equal(gridSockets[0].socket.isClosed(), false,
                     'the grid socket closed while the grid plays');
        assert.deepEqual(browser.foreignRequests(daemon), [],
                         'requests to another origin');

        // 2. The daemon stops sending but keeps the connection: SIGSTOP
        // leaves its sockets open and unread. The page must reopen the
        // grid on its own, since no close arrives.
        const stoppedAt = Date.now();
        process.kill(daemon.pid, 'SIGSTOP');
        let reopened;
        try {
          await sleep(STALL_MS);
          reopened = await waitFor(
            () => gridSockets.length >= 2 && gridSockets[1],
            WATCHDOG_WAIT_MS - STALL_MS,
            'the grid to open a second socket while the daemon is stopped');
        } finally {
          process.kill(daemon.pid, 'SIGCONT');
        }
        const continuedAt = Date.now();
        t.diagnostic(`the grid opened its second socket ` +
                     `${reopened.openedAt - stoppedAt} ms after SIGSTOP ` +
                     `(the daemon was stopped for ${continuedAt - stoppedAt} ` +
                     'ms)');

        tiles = await waitTilesPlaying(
          page, ['Gate', 'Dock'], ['Yard'], RECOVERY_MS,
          'the grid to play again after SIGCONT');
        t.diagnostic(`grid playing again ${Date.now() - continuedAt} ms ` +
                     `after SIGCONT, ${gridSockets.length} grid sockets ` +
                     'opened in all');
        for (const name of ['Gate', 'Dock']) {
          assert.equal(tiles[name].error, '', `${name}: video error`);
        }
        // The page closed the stalled socket when it reopened the grid,
        // but the close handshake completes only once the daemon runs.
        await waitFor(() => gridSockets[0].socket.isClosed(), 5000,
                      'the stalled grid socket to close');
        const latest = gridSockets[gridSockets.length - 1];
        assert.equal(latest.socket.isClosed(), false,
                     'the latest grid socket is closed');
        assert.equal(new URL(latest.url).searchParams.get('streams'),
                     `${gateId}:sub,${dockId}:main`);

        // 3. A click on Dock's tile opens Dock's single view.
        const socketsBefore = browser.webSockets.length;
        await page.locator('#grid figure')
          .filter({ has: page.locator('img[alt="Dock"]') }).click();
        await waitFor(async () => (await page.textContent('#viewer-title')) ===
                      'Dock', 5000, 'the viewer title to name Dock');
        assert.equal(await page.getAttribute('#tab-live', 'aria-pressed'),
                     'true');
        assert.equal(await page.getAttribute('#tab-grid', 'aria-pressed'),
                     'false');
        assert.equal(await page.locator('#grid figure').count(), 0,
                     'grid tiles left in the single view');
        await waitFor(() => latest.socket.isClosed(), 5000,
                      'the grid socket to close');
        const start = await waitFor(() => page.evaluate(
          () => document.getElementById('video').currentTime > 0 &&
            document.getElementById('video').currentTime), 20000,
        'the single view to start');
        await waitFor(() => page.evaluate(
          (from) => document.getElementById('video').currentTime >= from + 1,
          start), 20000, 'the single view to play 1 s');
        assert.equal(await page.isVisible('#video'), true);
        // The test cameras may drop the daemon's RTSP sessions that it
        // left unread while stopped. The daemon then reconnects, and the
        // single view reopens its socket for the new stream generation,
        // so it may open more than one socket.
        const opened = browser.webSockets.slice(socketsBefore).map(
          (url) => new URL(url).pathname + new URL(url).search);
        assert.ok(opened.length >= 1, 'no socket opened for the single view');
        for (const url of opened) {
          assert.equal(url, `/api/v1/cameras/${dockId}/live?stream=main`);
        }

        assert.deepEqual(browser.foreignRequests(daemon), [],
                         'requests to another origin');
        assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the page');
        assert.deepEqual(browser.unexpectedConsoleErrors(), [],
                         'console errors');
      } finally {
        for (const camera of cameras) await camera.stop();
      }
    });
  });
