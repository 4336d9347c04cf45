// Operator page: camera list, live view (one camera or a grid) over
// WebSocket + Media Source Extensions with HLS and snapshot fallbacks,
// and playback of a recorded range. No external resources. Sign-in,
// first-start setup and sign-out are in auth.js, which opens the viewer
// with openViewer() once a session exists.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { camera: null, cameras: [], mode: 'live', player: null,
                gridSocket: null, gridTimer: null, gridPlayers: [],
                open: false, pollTimer: null };

const CAMERA_POLL_MS = 5000;

// An API error response, with its HTTP status so that callers can tell
// an ended session (401) from other failures.
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Parses a response body as JSON, or returns null for an empty body or
// one that is not JSON (a proxy's error page, for example).
function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Calls the API and returns the parsed body. Throws ApiError for an
// error status; a 401 also ends the session in the page (auth.js
// sessionEnded) so that the sign-in form shows.
async function api(path, options) {
  const response = await fetch(path, options);
  const text = await response.text();
  const body = parseJson(text);
  if (response.status === 401) sessionEnded();
  if (!response.ok) {
    throw new ApiError(response.status,
                       body && body.error ? body.error :
                         'HTTP ' + response.status + ' ' +
                         response.statusText);
  }
  return body;
}

function streamState(camera) {
  const main = camera.streams && camera.streams.main;
  return main ? main.state : 'stopped';
}

async function loadCameras() {
  let cameras;
  try {
    cameras = await api('/api/v1/cameras');
  } catch (err) {
    // After a 401 the sign-in form has replaced the viewer already.
    if (state.open && err.status !== 401) {
      $('status').textContent = 'daemon unreachable: ' + err.message;
    }
    return;
  }
  // The viewer may have closed (sign-out) while the request ran.
  if (!state.open) return;
  $('status').textContent = '';
  state.cameras = cameras;
  const list = $('cameras');
  list.replaceChildren();
  for (const camera of cameras) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    const label = document.createElement('span');
    const badge = document.createElement('span');
    label.textContent = camera.name + ' ';
    badge.className = 'state ' + streamState(camera);
    badge.textContent = streamState(camera);
    const main = camera.streams && camera.streams.main;
    if (main && main.error) badge.title = main.error;
    button.append(label, badge);
    button.dataset.cameraId = camera.id;
    button.addEventListener('click', () => selectCamera(camera));
    item.append(button);
    list.append(item);
  }
}

// Live view. A stream plays through Media Source Extensions (MSE) fed
// over WebSocket when MediaSource.isTypeSupported() accepts the MIME
// type that the API reports for it. Otherwise the page tries the
// camera's other stream, then native HLS (Safari on iPhone, which lacks
// MediaSource), then snapshots refreshed every second. The single view
// prefers the main stream; the grid prefers the sub stream and carries
// all its tiles on one WebSocket.

// Restart a player that received nothing for this long.
const LIVE_STALL_MS = 5000;
// Seconds of buffer kept ahead of playback: a seek brings a lag beyond
// LIVE_SEEK_S back to LIVE_TARGET_S, and playback runs 10 % faster while
// the lag exceeds LIVE_CATCHUP_S, one 250 ms fragment plus 150 ms for
// delivery jitter.
const LIVE_TARGET_S = 0.3;
const LIVE_SEEK_S = 2;
const LIVE_CATCHUP_S = 0.4;
// Native HLS attempts, and the wait between them.
const HLS_ATTEMPTS = 4;
const HLS_RETRY_MS = 4000;
// Quiet time that ends the first burst of fragments.
const LIVE_START_MS = 150;
const SNAPSHOT_INTERVAL_MS = 1000;

function mseSupports(mime) {
  return Boolean(window.MediaSource && mime &&
                 MediaSource.isTypeSupported(mime));
}

// Lists the ways to play a camera, best first: [{ kind, stream }] with
// kind 'mse', 'hls' or 'snapshot'.
function livePlans(camera, preferred) {
  const streams = camera.streams || {};
  let names = (preferred === 'sub' ? ['sub', 'main'] : ['main', 'sub'])
    .filter((name) => streams[name]);
  if (names.length === 0) names = ['main'];
  const plans = [];
  for (const name of names) {
    const mime = streams[name] && streams[name].mime;
    // Without a MIME type yet (not streaming), MSE is tried and the
    // daemon's description message decides.
    if (window.MediaSource && (!mime || mseSupports(mime))) {
      plans.push({ kind: 'mse', stream: name });
    }
  }
  const probe = document.createElement('video');
  if (probe.canPlayType('application/vnd.apple.mpegurl')) {
    plans.push({ kind: 'hls', stream: names[0] });
  }
  plans.push({ kind: 'snapshot', stream: names[0] });
  return plans;
}

// Feeds init segments and fragments of one stream to a <video> element
// through a MediaSource, keeping playback near the live edge. onFail is
// called when the browser cannot play the stream's codec.
class MseSink {
  constructor(video, onFail) {
    this.video = video;
    this.onFail = onFail;
    this.queue = [];
    this.sourceBuffer = null;
    this.mime = null;
    this.generation = null;
    this.failed = false;
    this.started = false;
    this.startTimer = null;
    this.lastDataAt = Date.now();
    this.mediaSource = new MediaSource();
    this.opened = new Promise((resolve) => {
      this.mediaSource.addEventListener('sourceopen', resolve, { once: true });
    });
    video.src = URL.createObjectURL(this.mediaSource);
  }

  // Handles the JSON description sent before each init segment. Returns
  // false when the stream needs a new sink (a new codec or generation).
  describe(info) {
    this.lastDataAt = Date.now();
    if (this.failed) return true;
    if (!mseSupports(info.mime)) {
      // onFail moves to another plan; no restart of this one.
      this.failed = true;
      this.onFail('this browser cannot play ' + info.mime);
      return true;
    }
    if (this.sourceBuffer) {
      return info.mime === this.mime && info.generation === this.generation;
    }
    this.mime = info.mime;
    this.generation = info.generation;
    this.sourceBuffer = this.mediaSource.addSourceBuffer(info.mime);
    this.sourceBuffer.mode = 'segments';
    this.sourceBuffer.addEventListener('updateend', () => {
      this.keepLive();
      this.pump();
    });
    this.pump();
    return true;
  }

  append(bytes) {
    if (this.failed) return;
    this.lastDataAt = Date.now();
    this.queue.push(bytes);
    this.pump();
    if (!this.started) {
      // The daemon first sends the fragments since the latest keyframe
      // in one burst: start at the live edge once the burst is over.
      clearTimeout(this.startTimer);
      this.startTimer = setTimeout(() => this.startPlayback(),
                                   LIVE_START_MS);
    } else if (this.video.paused) {
      this.video.play().catch(() => {});
    }
  }

  startPlayback() {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || this.queue.length) {
      this.startTimer = setTimeout(() => this.startPlayback(), 50);
      return;
    }
    this.started = true;
    if (sb.buffered.length) {
      const last = sb.buffered.length - 1;
      this.video.currentTime = Math.max(sb.buffered.start(last),
                                        sb.buffered.end(last) - LIVE_TARGET_S);
    }
    this.video.play().catch(() => {});
  }

  pump() {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || this.queue.length === 0 ||
        this.mediaSource.readyState !== 'open') {
      return;
    }
    try {
      sb.appendBuffer(this.queue.shift());
    } catch (err) {
      this.failed = true;
      this.onFail('cannot play: ' + err.message);
    }
  }

  // Stays near the live edge: skips gaps that a slow connection leaves
  // (the daemon then resumes at the next keyframe), catches up when far
  // behind, and keeps about 30 s of buffer.
  keepLive() {
    const sb = this.sourceBuffer;
    const video = this.video;
    if (!this.started || !sb || sb.updating || sb.buffered.length === 0) {
      return;
    }
    const buffered = sb.buffered;
    const end = buffered.end(buffered.length - 1);
    let inside = false;
    for (let i = 0; i < buffered.length; i++) {
      if (video.currentTime >= buffered.start(i) &&
          video.currentTime < buffered.end(i)) {
        inside = true;
      }
    }
    if (!inside || end - video.currentTime > LIVE_SEEK_S) {
      const start = buffered.start(buffered.length - 1);
      video.currentTime = Math.max(start, end - LIVE_TARGET_S);
    }
    video.playbackRate = end - video.currentTime > LIVE_CATCHUP_S ?
      1.1 : 1.0;
    if (video.currentTime - buffered.start(0) > 40) {
      sb.remove(buffered.start(0), video.currentTime - 30);
    }
  }

  close() {
    clearTimeout(this.startTimer);
    if (this.video.src) URL.revokeObjectURL(this.video.src);
  }
}

// Plays one camera in a <video> (with an <img> for snapshots), trying
// livePlans() in order. setStatus receives a short state text.
class LivePlayer {
  constructor(video, img, camera, preferred, setStatus) {
    this.video = video;
    this.img = img;
    this.camera = camera;
    this.plans = livePlans(camera, preferred);
    this.setStatus = setStatus;
    this.planIndex = 0;
    this.timers = [];
    this.ws = null;
    this.sink = null;
    this.stopped = false;
  }

  start() {
    this.stopMedia();
    if (this.stopped) return;
    const plan = this.plans[this.planIndex];
    this.plan = plan;
    this.video.hidden = plan.kind === 'snapshot';
    if (this.img) this.img.hidden = plan.kind !== 'snapshot';
    if (plan.kind === 'mse') this.startMse(plan.stream);
    else if (plan.kind === 'hls') this.startHls(plan.stream);
    else this.startSnapshots(plan.stream);
  }

  // Moves to the next plan after a codec failure.
  fallBack(reason) {
    if (this.planIndex + 1 < this.plans.length) {
      this.planIndex++;
      this.setStatus(reason + '; trying ' + this.plans[this.planIndex].kind +
                     ' of the ' + this.plans[this.planIndex].stream +
                     ' stream');
      setTimeout(() => this.start(), 0);
    } else {
      this.setStatus(reason);
    }
  }

  restartLater(reason, delayMs) {
    this.setStatus(reason);
    this.stopMedia();
    this.timers.push(setTimeout(() => this.start(), delayMs));
  }

  startMse(stream) {
    const sink = new MseSink(this.video, (reason) => this.fallBack(reason));
    this.sink = sink;
    sink.opened.then(() => {
      if (this.sink !== sink) return;
      const url = new URL('/api/v1/cameras/' + this.camera.id + '/live',
                          location.href);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('stream', stream);
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onmessage = (event) => {
        if (typeof event.data !== 'string') {
          if (!sink.started) this.setStatus('live');
          sink.append(event.data);
          return;
        }
        if (!sink.describe(JSON.parse(event.data)) && this.sink === sink) {
          // A new generation (the camera reconnected or changed its
          // settings): start over with a fresh MediaSource.
          this.restartLater('live stream changed; reloading', 0);
        }
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        // 1008: the daemon closed the stream because the session ended.
        if (event.code === 1008) {
          sessionEnded();
          return;
        }
        this.restartLater('live connection closed; retrying', 2000);
      };
      this.setStatus('waiting for video');
    });
    this.timers.push(setInterval(() => {
      if (Date.now() - sink.lastDataAt > LIVE_STALL_MS) {
        this.restartLater('no live data for ' + LIVE_STALL_MS / 1000 +
                          ' s; reconnecting', 0);
      }
    }, 1000));
  }

  // Native HLS. A new HLS window starts with one segment, which some
  // players reject (Chromium 156 fails with DEMUXER_ERROR_COULD_NOT_PARSE
  // until the playlist is longer), so an error is retried a few times
  // before the next plan.
  startHls(stream) {
    this.video.onerror = () => {
      const error = this.video.error;
      this.video.onerror = null;
      this.hlsFailures = (this.hlsFailures || 0) + 1;
      const reason = 'HLS failed: ' +
        (error ? error.message || 'code ' + error.code : 'unknown error');
      if (this.hlsFailures < HLS_ATTEMPTS) {
        this.restartLater(reason + '; retrying', HLS_RETRY_MS);
      } else {
        this.fallBack(reason);
      }
    };
    this.video.src = '/api/v1/cameras/' + this.camera.id +
      '/hls/index.m3u8?stream=' + stream;
    this.video.play().catch(() => {});
    this.setStatus('live (HLS)');
  }

  startSnapshots(stream) {
    const width = Math.max(160, Math.round(this.img.clientWidth ||
                                           this.video.clientWidth || 640));
    const refresh = () => {
      this.img.src = '/api/v1/cameras/' + this.camera.id +
        '/snapshot.jpg?stream=' + stream + '&width=' + width +
        '&t=' + Date.now();
    };
    refresh();
    this.timers.push(setInterval(refresh, SNAPSHOT_INTERVAL_MS));
    this.setStatus('snapshots every second');
  }

  stopMedia() {
    this.video.onerror = null;
    for (const timer of this.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.timers = [];
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
    }
    if (this.sink) {
      this.sink.close();
      this.sink = null;
    }
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.load();
  }

  stop() {
    this.stopped = true;
    this.stopMedia();
  }
}

function stopVideo() {
  if (state.player) {
    state.player.stop();
    state.player = null;
  }
  stopGrid();
  const video = $('video');
  video.pause();
  video.removeAttribute('src');
  video.load();
  video.hidden = false;
  $('snapshot').hidden = true;
}

function selectCamera(camera) {
  state.camera = camera;
  $('viewer-title').textContent = camera.name;
  if (state.mode === 'playback') showPlayback(); else setMode('live');
}

// Live: one camera in full size, from its main stream.
function startLive() {
  stopVideo();
  if (!state.camera) return;
  state.player = new LivePlayer($('video'), $('snapshot'), state.camera,
                                'main', (text) => {
                                  $('video-state').textContent = text;
                                });
  state.player.start();
}

// Grid: every camera's sub stream (main without one) on one WebSocket,
// /api/v1/live?streams=ID:STREAM,...; each message starts with the
// channel and the kind (0 description, 1 init segment, 2 fragment after
// an 8-byte UTC start time). A tile whose codec the browser cannot
// play shows snapshots instead.
function startGrid() {
  stopVideo();
  $('video').hidden = true;
  const grid = $('grid');
  grid.hidden = false;
  grid.replaceChildren();
  grid.style.display = 'grid';
  grid.style.gridTemplateColumns = 'repeat(auto-fill, minmax(20em, 1fr))';
  grid.style.gap = '0.5em';
  const channels = [];
  for (const camera of state.cameras || []) {
    const tile = document.createElement('figure');
    const video = document.createElement('video');
    const img = document.createElement('img');
    const caption = document.createElement('figcaption');
    tile.style.margin = '0';
    video.muted = true;
    video.playsInline = true;
    video.style.width = '100%';
    img.style.width = '100%';
    img.hidden = true;
    img.alt = camera.name;
    caption.textContent = camera.name;
    tile.append(video, img, caption);
    tile.addEventListener('click', () => selectCamera(camera));
    grid.append(tile);
    const plan = livePlans(camera, 'sub')[0];
    if (plan.kind === 'mse') {
      channels.push({ camera, stream: plan.stream, video, img, caption });
    } else {
      // No MSE for this camera: its first plan is HLS or snapshots.
      const player = new LivePlayer(video, img, camera, 'sub', (text) => {
        caption.textContent = camera.name + ' (' + text + ')';
      });
      player.start();
      state.gridPlayers.push(player);
    }
  }
  if (channels.length) openGridSocket(channels);
}

function openGridSocket(channels) {
  const url = new URL('/api/v1/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('streams', channels.map(
    (ch) => ch.camera.id + ':' + ch.stream).join(','));
  for (const ch of channels) {
    ch.sink = new MseSink(ch.video, (reason) => {
      ch.caption.textContent = ch.camera.name + ' (' + reason + ')';
      ch.failed = true;
      const player = new LivePlayer(ch.video, ch.img, ch.camera, 'sub',
                                    () => {});
      player.planIndex = player.plans.length - 1;
      player.start();
      state.gridPlayers.push(player);
    });
  }
  Promise.all(channels.map((ch) => ch.sink.opened)).then(() => {
    if (state.mode !== 'grid') return;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    state.gridSocket = ws;
    // A socket that stays open but delivers nothing (a stalled proxy, a
    // suspended network) never fires onclose: reopen the grid after
    // LIVE_STALL_MS without any message.
    let lastMessageAt = Date.now();
    clearInterval(state.gridWatchdog);
    state.gridWatchdog = setInterval(() => {
      if (state.gridSocket === ws &&
          Date.now() - lastMessageAt > LIVE_STALL_MS) {
        startGrid();
      }
    }, 1000);
    ws.onmessage = (event) => {
      lastMessageAt = Date.now();
      const bytes = new Uint8Array(event.data);
      const ch = channels[bytes[0]];
      if (!ch || ch.failed) return;
      if (bytes[1] === 0) {
        const info = JSON.parse(new TextDecoder().decode(bytes.subarray(2)));
        if (!ch.sink.describe(info) && !ch.failed) {
          setTimeout(() => { if (state.mode === 'grid') startGrid(); }, 0);
        }
      } else if (bytes[1] === 1) {
        ch.sink.append(bytes.subarray(2));
      } else if (bytes[1] === 2) {
        ch.sink.append(bytes.subarray(10));
      }
    };
    ws.onclose = (event) => {
      if (state.gridSocket !== ws) return;
      if (event.code === 1008) {
        sessionEnded();
        return;
      }
      state.gridTimer = setTimeout(() => {
        if (state.mode === 'grid') startGrid();
      }, 2000);
    };
  });
}

function stopGrid() {
  if (state.gridSocket) {
    const ws = state.gridSocket;
    state.gridSocket = null;
    ws.close();
  }
  clearTimeout(state.gridTimer);
  clearInterval(state.gridWatchdog);
  for (const player of state.gridPlayers || []) player.stop();
  state.gridPlayers = [];
  const grid = $('grid');
  if (grid) {
    grid.replaceChildren();
    grid.hidden = true;
  }
}

function toInputValue(date) {
  return date.toISOString().slice(0, 19);
}

function fromInputValue(value) {
  return new Date(value + 'Z');
}

async function showPlayback() {
  stopVideo();
  if (!state.camera) return;
  if (!$('from').value) {
    const now = new Date();
    $('to').value = toInputValue(now);
    $('from').value = toInputValue(new Date(now - 5 * 60 * 1000));
  }
  await listRecordings();
}

function rangeQuery() {
  const from = fromInputValue($('from').value).getTime() * 1000;
  const to = fromInputValue($('to').value).getTime() * 1000;
  return 'stream=main&from=' + from + '&to=' + to;
}

async function listRecordings() {
  const list = $('recordings');
  list.replaceChildren();
  try {
    const result = await api('/api/v1/cameras/' + state.camera.id +
                             '/recordings?' + rangeQuery());
    if (!state.open) return;
    for (const rec of result.recordings) {
      const item = document.createElement('li');
      item.textContent = 'recording ' +
        new Date(rec.start_us / 1000).toISOString() + ' to ' +
        new Date(rec.end_us / 1000).toISOString();
      list.append(item);
    }
    for (const gap of result.gaps) {
      const item = document.createElement('li');
      item.className = 'error';
      item.textContent = 'gap ' + new Date(gap.start_us / 1000).toISOString() +
        ' to ' + new Date(gap.end_us / 1000).toISOString();
      list.append(item);
    }
  } catch (err) {
    if (state.open) $('video-state').textContent = err.message;
  }
}

function playRange(event) {
  event.preventDefault();
  stopVideo();
  const url = '/api/v1/cameras/' + state.camera.id + '/playback.mp4?' +
    rangeQuery();
  $('download').href = url + '&download=1';
  const video = $('video');
  video.src = url;
  video.play().catch((err) => {
    $('video-state').textContent = 'cannot play: ' + err.message;
  });
  $('video-state').textContent = 'playback';
  listRecordings();
}

function setMode(mode) {
  state.mode = mode;
  $('tab-live').setAttribute('aria-pressed', String(mode === 'live'));
  $('tab-grid').setAttribute('aria-pressed', String(mode === 'grid'));
  $('tab-playback').setAttribute('aria-pressed', String(mode === 'playback'));
  $('playback-form').hidden = mode !== 'playback';
  if (mode === 'live') startLive();
  else if (mode === 'grid') startGrid();
  else showPlayback();
}

async function addCamera(event) {
  event.preventDefault();
  const form = event.target;
  const body = {};
  for (const [key, value] of new FormData(form)) {
    if (value !== '' || key === 'name' || key === 'main_url') body[key] = value;
  }
  try {
    await api('/api/v1/cameras', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    form.reset();
    $('add-error').textContent = '';
    await loadCameras();
  } catch (err) {
    if (state.open) $('add-error').textContent = err.message;
  }
}

// Shows the viewer for a signed-in user, selects the first camera and
// refreshes the camera list every CAMERA_POLL_MS.
function openViewer() {
  if (state.open) return;
  state.open = true;
  $('app').hidden = false;
  loadCameras().then(() => {
    const first = document.querySelector('#cameras button');
    if (first) first.click();
  });
  state.pollTimer = setInterval(loadCameras, CAMERA_POLL_MS);
}

// Hides the viewer, stops all video and polling, and clears what the
// previous user saw or typed.
function closeViewer() {
  state.open = false;
  clearInterval(state.pollTimer);
  state.pollTimer = null;
  stopVideo();
  state.camera = null;
  state.cameras = [];
  $('app').hidden = true;
  $('cameras').replaceChildren();
  $('recordings').replaceChildren();
  $('viewer-title').textContent = 'Select a camera';
  $('video-state').textContent = '';
  $('status').textContent = '';
  $('add-camera').reset();
  $('add-error').textContent = '';
}

$('tab-live').addEventListener('click', () => setMode('live'));
$('tab-grid').addEventListener('click', () => setMode('grid'));
$('tab-playback').addEventListener('click', () => setMode('playback'));
$('playback-form').addEventListener('submit', playRange);
$('add-camera').addEventListener('submit', addCamera);
