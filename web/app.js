// Operator page: camera list, live view over WebSocket + Media Source
// Extensions, and playback of a recorded range. No external resources.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { camera: null, mode: 'live', ws: null, mediaSource: null };

async function api(path, options) {
  const response = await fetch(path, options);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(body && body.error ? body.error : response.statusText);
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
    $('status').textContent = '';
  } catch (err) {
    $('status').textContent = 'daemon unreachable: ' + err.message;
    return;
  }
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

function stopVideo() {
  if (state.ws) {
    state.ws.onclose = null;
    state.ws.close();
    state.ws = null;
  }
  const video = $('video');
  video.pause();
  video.removeAttribute('src');
  video.load();
  state.mediaSource = null;
}

function selectCamera(camera) {
  state.camera = camera;
  $('viewer-title').textContent = camera.name;
  if (state.mode === 'live') startLive(); else showPlayback();
}

// Live: the daemon sends a JSON text message with the MIME type, then
// the init segment, then fragments, each as one binary message.
function startLive() {
  stopVideo();
  if (!state.camera) return;
  const video = $('video');
  const mediaSource = new MediaSource();
  state.mediaSource = mediaSource;
  video.src = URL.createObjectURL(mediaSource);
  const queue = [];
  let sourceBuffer = null;

  const pump = () => {
    if (!sourceBuffer || sourceBuffer.updating || queue.length === 0) return;
    try {
      sourceBuffer.appendBuffer(queue.shift());
    } catch (err) {
      $('video-state').textContent = 'cannot play: ' + err.message;
    }
  };
  const trim = () => {
    // Keep about 30 s behind the live edge and stay close to it.
    if (!sourceBuffer || sourceBuffer.updating) return;
    const buffered = sourceBuffer.buffered;
    if (buffered.length === 0) return;
    const end = buffered.end(buffered.length - 1);
    if (end - video.currentTime > 3) video.currentTime = end - 0.5;
    if (video.currentTime - buffered.start(0) > 40) {
      sourceBuffer.remove(buffered.start(0), video.currentTime - 30);
    }
  };

  mediaSource.addEventListener('sourceopen', () => {
    const url = new URL('/api/v1/cameras/' + state.camera.id + '/live',
                        location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('stream', 'main');
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    state.ws = ws;
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') {
        const header = JSON.parse(event.data);
        if (!sourceBuffer) {
          if (!MediaSource.isTypeSupported(header.mime)) {
            $('video-state').textContent =
              'this browser cannot play ' + header.mime;
            return;
          }
          sourceBuffer = mediaSource.addSourceBuffer(header.mime);
          sourceBuffer.mode = 'segments';
          sourceBuffer.addEventListener('updateend', () => { trim(); pump(); });
        }
        return;
      }
      queue.push(event.data);
      pump();
      if (video.paused) video.play().catch(() => {});
    };
    ws.onclose = () => {
      $('video-state').textContent = 'live connection closed; retrying';
      setTimeout(() => { if (state.mode === 'live') startLive(); }, 2000);
    };
    $('video-state').textContent = 'live';
  }, { once: true });
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
    $('video-state').textContent = err.message;
  }
}

function playRange(event) {
  event.preventDefault();
  stopVideo();
  const url = '/api/v1/cameras/' + state.camera.id + '/playback.mp4?' +
    rangeQuery();
  $('download').href = url;
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
  $('tab-playback').setAttribute('aria-pressed', String(mode === 'playback'));
  $('playback-form').hidden = mode !== 'playback';
  if (mode === 'live') startLive(); else showPlayback();
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
    $('add-error').textContent = err.message;
  }
}

$('tab-live').addEventListener('click', () => setMode('live'));
$('tab-playback').addEventListener('click', () => setMode('playback'));
$('playback-form').addEventListener('submit', playRange);
$('add-camera').addEventListener('submit', addCamera);
loadCameras().then(() => {
  const first = document.querySelector('#cameras button');
  if (first) first.click();
});
setInterval(loadCameras, 5000);
