// Players that run inside a Chromium page (pass them to playwright's
// page.evaluate): a Low-Latency HLS loader built on Media Source
// Extensions, since Chromium has no native HLS, and a player for the
// multiplexed live WebSocket. Both record latency samples in
// window.vmsPlayer: arrival (ms from a fragment's first sample, UTC,
// to its arrival in the page) and playback (ms from the sample on
// screen to now, with the buffered seconds ahead of it), and count
// stalls (the video's waiting events). The browser tests and
// bench/live/run.py use them.
//
// Each function must be self-contained, because playwright serializes
// its source into the page. The players need the window.vmsClock that
// preparePage installs.

// Plays an LL-HLS media playlist (options.playlist, a URL) in <video
// id="video">. It appends the init segment and the parts from the
// newest independent part on, then follows the live edge with blocking
// playlist reloads (_HLS_msn/_HLS_part). A playlist without parts is
// played from its newest segment on, polling for new segments. A
// failed request is retried; a part that left the window restarts from
// the newest independent part.
export function playHls(options) {
  // Seconds of buffer kept ahead of playback, the lag above which
  // playback runs faster (as in web/app.js), and the lag that seeks.
  const LIVE_TARGET_S = 0.3;
  const LIVE_CATCHUP_S = 0.4;
  const LIVE_SEEK_S = 1.5;
  const video = document.getElementById('video');
  const player = {
    kind: 'hls', parts: 0, errors: 0, resyncs: 0, stalls: 0, arrival: [],
    playback: [], lastError: '', done: false,
  };
  window.vmsPlayer = player;
  video.addEventListener('waiting', () => { player.stalls++; });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const parse = (text) => {
    const lines = text.split('\n');
    const out = { parts: [], segments: [], map: null, hint: null,
                  nextDuration: 0 };
    let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)[1]);
    let index = 0;
    let segmentTime = 0;
    let offset = 0;
    for (const line of lines) {
      let m;
      if ((m = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line))) {
        out.map = m[1];
      } else if ((m = /^#EXT-X-PROGRAM-DATE-TIME:(.+)$/.exec(line))) {
        segmentTime = Date.parse(m[1]);
        offset = 0;
      } else if ((m = /^#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"(.*)$/
        .exec(line))) {
        out.parts.push({
          msn, index, uri: m[2], duration: Number(m[1]),
          independent: m[3].includes('INDEPENDENT=YES'),
          wallStart: segmentTime + offset, map: out.map,
        });
        offset += Number(m[1]) * 1000;
        index++;
      } else if ((m = /^#EXTINF:([\d.]+),/.exec(line))) {
        out.nextDuration = Number(m[1]);
      } else if (line && !line.startsWith('#')) {
        out.segments.push({
          msn, index: 0, uri: line, duration: out.nextDuration,
          independent: true, wallStart: segmentTime, map: out.map,
        });
        segmentTime += out.nextDuration * 1000;
        msn++;
        index = 0;
      } else if ((m = /^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/
        .exec(line))) {
        out.hint = m[1];
      }
    }
    return out;
  };

  const base = new URL(options.playlist, location.href);
  const fetchBytes = async (uri) => {
    const response = await fetch(new URL(uri, base));
    if (!response.ok) {
      const error = new Error(uri + ': HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    return response.arrayBuffer();
  };

  const mediaSource = new MediaSource();
  video.src = URL.createObjectURL(mediaSource);
  let sourceBuffer = null;
  const appendQueue = [];
  const pump = () => {
    if (!sourceBuffer || sourceBuffer.updating || !appendQueue.length) return;
    sourceBuffer.appendBuffer(appendQueue.shift());
  };
  // Set for a playlist without parts. Playback then trails the newest
  // segment's end by about its duration, as a plain HLS player that
  // never stalls must.
  let plain = false;
  let segmentS = 0;
  const clock = window.vmsClock;

  const run = async () => {
    await new Promise((resolve) => mediaSource.addEventListener(
      'sourceopen', resolve, { once: true }));
    let last = null;       // { msn, index } of the newest appended part
    let map = null;
    while (!player.done) {
      try {
        let url = options.playlist;
        if (last) {
          const sep = url.includes('?') ? '&' : '?';
          url += sep + '_HLS_msn=' + last.msn + '&_HLS_part=' +
            (last.index + 1);
        }
        const playlist = parse(new TextDecoder().decode(
          await fetchBytes(last && plain ? options.playlist : url)));
        // A playlist without parts (plain HLS, for example FFmpeg's
        // muxer) is followed segment by segment, polled every 250 ms.
        plain = playlist.parts.length === 0;
        let parts = plain ? playlist.segments : playlist.parts;
        if (!last) {
          // Start at the newest independent part.
          let start = 0;
          parts.forEach((p, i) => { if (p.independent) start = i; });
          parts = parts.slice(start);
        } else {
          parts = parts.filter((p) => p.msn > last.msn ||
            (p.msn === last.msn && p.index > last.index));
          const known = (plain ? playlist.segments : playlist.parts).some(
            (p) => p.msn === last.msn && p.index === last.index);
          const next = parts[0];
          if (!known && next && !next.independent) {
            // The window moved past us: start over at a keyframe.
            player.resyncs++;
            last = null;
            continue;
          }
        }
        if (plain && last && parts.length === 0) await sleep(250);
        if (plain && parts.length) segmentS = parts[parts.length - 1].duration;
        for (const part of parts) {
          if (part.map !== map) {
            const init = await fetchBytes(part.map);
            if (!sourceBuffer) {
              const mime = options.mime;
              sourceBuffer = mediaSource.addSourceBuffer(mime);
              sourceBuffer.addEventListener('updateend', pump);
            }
            clock.init(new Uint8Array(init));
            appendQueue.push(init);
            map = part.map;
          }
          const bytes = await fetchBytes(part.uri);
          const now = Date.now();
          player.arrival.push(now - part.wallStart);
          clock.fragment(new Uint8Array(bytes), part.wallStart);
          appendQueue.push(bytes);
          pump();
          player.parts++;
          last = { msn: part.msn, index: part.index };
          if (video.paused) video.play().catch(() => {});
        }
      } catch (err) {
        player.errors++;
        player.lastError = String(err.message || err);
        if (err.status === 404) last = null;
        await sleep(500);
      }
    }
  };

  // Samples the playback latency and keeps near the live edge.
  setInterval(() => {
    if (!sourceBuffer || !sourceBuffer.buffered.length) return;
    const end = sourceBuffer.buffered.end(sourceBuffer.buffered.length - 1);
    let inside = false;
    for (let i = 0; i < sourceBuffer.buffered.length; i++) {
      inside ||= video.currentTime >= sourceBuffer.buffered.start(i) &&
        video.currentTime < sourceBuffer.buffered.end(i);
    }
    const lag = end - video.currentTime;
    const target = plain ? segmentS : LIVE_TARGET_S;
    if (!inside || lag > (plain ? 3 * segmentS : LIVE_SEEK_S)) {
      video.currentTime = Math.max(
        sourceBuffer.buffered.start(sourceBuffer.buffered.length - 1),
        end - target);
    }
    // Just after a plain segment arrives, the lag is up to one segment
    // plus what is left of the previous one.
    video.playbackRate = lag > (plain ? target + 0.3 : LIVE_CATCHUP_S) ?
      1.15 : 1.0;
    const latency = clock.latency(video.currentTime);
    if (latency !== null && !video.paused) {
      player.playback.push({ buffer: end - video.currentTime, latency });
    }
  }, 250);
  run();
  return true;
}

// Plays one stream of the multiplexed WebSocket (options.url) in
// <video id="video">: messages are [channel, kind, payload]; a
// fragment's payload starts with its UTC start time (8 bytes,
// big-endian microseconds).
export function playMux(options) {
  const LIVE_TARGET_S = 0.3;
  const LIVE_CATCHUP_S = 0.4;
  const LIVE_SEEK_S = 1.5;
  const video = document.getElementById('video');
  const player = {
    kind: 'mse', fragments: 0, errors: 0, stalls: 0, arrival: [],
    playback: [], lastError: '',
  };
  window.vmsPlayer = player;
  video.addEventListener('waiting', () => { player.stalls++; });
  const mediaSource = new MediaSource();
  video.src = URL.createObjectURL(mediaSource);
  let sourceBuffer = null;
  const queue = [];
  const clock = window.vmsClock;
  const pump = () => {
    if (!sourceBuffer || sourceBuffer.updating || !queue.length) return;
    sourceBuffer.appendBuffer(queue.shift());
  };
  mediaSource.addEventListener('sourceopen', () => {
    const ws = new WebSocket(new URL(options.url, location.href.replace(
      /^http/, 'ws')));
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (event) => {
      const bytes = new Uint8Array(event.data);
      if (bytes[1] === 0) {
        const info = JSON.parse(new TextDecoder().decode(bytes.subarray(2)));
        if (!sourceBuffer) {
          sourceBuffer = mediaSource.addSourceBuffer(info.mime);
          sourceBuffer.addEventListener('updateend', pump);
        }
      } else if (bytes[1] === 1) {
        clock.init(bytes.subarray(2));
        queue.push(bytes.slice(2));
      } else if (bytes[1] === 2) {
        const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8);
        const startMs = Number(view.getBigUint64(0)) / 1000;
        // Arrival against the fragment's first sample, so the
        // fragment's own duration (up to 250 ms) is included, as it is
        // for an HLS part.
        player.arrival.push(Date.now() - startMs);
        clock.fragment(bytes.subarray(10), startMs);
        queue.push(bytes.slice(10));
        player.fragments++;
      }
      pump();
      if (video.paused) video.play().catch(() => {});
    };
    ws.onerror = () => { player.errors++; };
  }, { once: true });
  setInterval(() => {
    if (!sourceBuffer || !sourceBuffer.buffered.length) return;
    const end = sourceBuffer.buffered.end(sourceBuffer.buffered.length - 1);
    const lag = end - video.currentTime;
    if (lag > LIVE_SEEK_S) video.currentTime = end - LIVE_TARGET_S;
    video.playbackRate = lag > LIVE_CATCHUP_S ? 1.15 : 1.0;
    const latency = clock.latency(video.currentTime);
    if (latency !== null && !video.paused) {
      player.playback.push({ buffer: end - video.currentTime, latency });
    }
  }, 250);
  return true;
}

// Prepares the page for a player: an empty body with <video
// id="video">. The page should be a daemon URL loaded from the network
// (for example /api/v1/status), because Chromium's local network access
// checks block WebSockets to 127.0.0.1 from pages that a test injects.
export function preparePage() {
  // Returns the payload of the box at a path of box types in an fMP4
  // buffer (Uint8Array), or null.
  const find = (bytes, types) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset,
                              bytes.byteLength);
    let start = 0;
    let end = bytes.byteLength;
    for (const type of types) {
      let found = null;
      for (let at = start; at + 8 <= end;) {
        let size = view.getUint32(at);
        let header = 8;
        if (size === 1 && at + 16 <= end) {
          size = Number(view.getBigUint64(at + 8));
          header = 16;
        } else if (size === 0) {
          size = end - at;
        }
        if (size < header || at + size > end) break;
        const name = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
        if (name === type) {
          found = { start: at + header, end: at + size };
          break;
        }
        at += size;
      }
      if (!found) return null;
      start = found.start;
      end = found.end;
    }
    return new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  };
  // Maps currentTime to the wall time of the sample on screen with one
  // mark per fragment (tfdt against the UTC time of its first sample),
  // so source stalls and reconnects do not shift the figure.
  window.vmsClock = {
    timescale: 0,
    marks: [],
    init(bytes) {
      const mdhd = find(bytes, ['moov', 'trak', 'mdia', 'mdhd']);
      if (mdhd) this.timescale = mdhd.getUint32(mdhd.getUint8(0) ? 20 : 12);
      this.marks = [];
    },
    fragment(bytes, wallMs) {
      const tfdt = find(bytes, ['moof', 'traf', 'tfdt']);
      if (!tfdt || !this.timescale) return;
      const decode = tfdt.getUint8(0) ? Number(tfdt.getBigUint64(4)) :
        tfdt.getUint32(4);
      this.marks.push({ media: decode / this.timescale, wall: wallMs });
      if (this.marks.length > 400) this.marks.splice(0, 200);
    },
    // Returns the milliseconds from the sample shown at currentTime to
    // now, or null before the first mark.
    latency(currentTime) {
      let best = null;
      for (const mark of this.marks) {
        if (mark.media <= currentTime && (!best || mark.media > best.media)) {
          best = mark;
        }
      }
      if (!best) return null;
      return Date.now() - (best.wall + (currentTime - best.media) * 1000);
    },
  };
  const video = document.createElement('video');
  video.id = 'video';
  video.muted = true;
  video.playsInline = true;
  document.body.replaceChildren(video);
  return true;
}
