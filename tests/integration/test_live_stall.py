"""Live view with stalled viewers: three WebSocket clients that complete
the handshake and then never read must not delay a viewer that keeps
up by more than one fragment, must not grow the daemon's memory beyond
their queue bounds, and must not leave a gap in the recording.

The camera serves a 6 Mbit/s clip generated here (a real main stream's
rate), so that a stalled viewer's queue overflows within the test: at
the 2 Mbit/s of the stock clips, 8 MiB take over 30 s to fill."""

import json
import os
import socket
import subprocess
import threading
import time

import vmstest
from vmstest import (Daemon, FakeCamera, WebSocket, run, wait_for,
                     workspace)

# Each viewer's queue bound: live_queue_bytes, 8 MiB by default in
# src/api/server.c.
QUEUE_BOUND = 8 << 20
# The ingest cuts fragments of at most 500 ms (src/media/ingest.c).
FRAGMENT_S = 0.5
STALL_SECONDS = 60


def make_clip(path):
    """Encodes 20 s of 1280x720 noise at 6 Mbit/s, a keyframe every 2 s,
    with FFmpeg's testsrc2 and libx264."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=1280x720:rate=25", "-vf", "noise=alls=30:allf=t",
         "-t", "20", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
         "-b:v", "6M", "-maxrate", "6M", "-bufsize", "3M", "-pix_fmt",
         "yuv420p", path], check=True, timeout=120)


def rss_bytes(pid):
    """Returns the resident set size of pid from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS in /proc/{pid}/status")


def stalled_client(port, path):
    """Opens a WebSocket and never reads past the handshake. A 4 KiB
    receive buffer keeps the kernel from absorbing the stream."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Authorization: Bearer {vmstest.API_KEY}\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    return sock


class Watcher(threading.Thread):
    """A viewer that keeps up, on the multiplexed endpoint so that each
    fragment carries its UTC start time. Records (receive time, latency
    in seconds) per fragment."""

    def __init__(self, port, camera_id):
        super().__init__(daemon=True)
        self.ws = WebSocket("127.0.0.1", port,
                            f"/api/v1/live?streams={camera_id}:main")
        self.samples = []
        self.error = None
        self.stopping = False

    def run(self):
        try:
            while not self.stopping:
                _, message = self.ws.receive()
                if message[1] != 2:
                    continue
                start_us = int.from_bytes(message[2:10], "big")
                now = time.time()
                self.samples.append((now, now - start_us / 1e6))
        except (OSError, ConnectionError) as err:
            if not self.stopping:
                self.error = err

    def latencies(self, since, until):
        return sorted(lat for t, lat in self.samples if since <= t < until)


def percentile(values, q):
    return values[min(len(values) - 1, int(q * len(values)))]


def viewer_channels(vmsd, camera_id):
    status, _, report = vmsd.request(
        "GET", f"/api/v1/cameras/{camera_id}/live/viewers")
    assert status == 200, report
    return {v["id"]: (v["protocol"], v["channels"][0])
            for v in report["viewers"]}


def test_stalled_viewers_isolated():
    with workspace("live-stall") as tmp:
        clip = os.path.join(tmp, "clip.mp4")
        make_clip(clip)
        cam = FakeCamera(tmp, footage=clip)
        vmsd = Daemon(tmp, segment_seconds=10)
        stalled = []
        watcher = None
        try:
            cid = vmsd.add_camera("Dock", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            wait_for(lambda: vmsd.stream(cid)["fragments"] > 10, 20,
                     what="the first fragments")

            watcher = Watcher(vmsd.port, cid)
            watcher.start()
            time.sleep(10)
            baseline_end = time.time()
            rss_before = rss_bytes(vmsd.proc.pid)

            for _ in range(3):
                stalled.append(stalled_client(
                    vmsd.port, f"/api/v1/cameras/{cid}/live?stream=main"))
            rss = []
            for _ in range(STALL_SECONDS):
                time.sleep(1)
                rss.append(rss_bytes(vmsd.proc.pid))
                assert vmsd.alive(), "vmsd died"
            stall_end = time.time()

            # The daemon's own figures: the stalled viewers overflowed
            # and skipped to keyframes within their bound; the watcher
            # lost nothing.
            channels = viewer_channels(vmsd, cid)
            assert len(channels) == 4, channels
            for protocol, ch in channels.values():
                if protocol == "multiplexed":
                    assert ch["fragments_skipped"] == 0, ch
                    assert ch["overflows"] == 0, ch
                    assert ch["delivery_p99_us"] < FRAGMENT_S * 1e6, ch
                else:
                    assert ch["overflows"] > 0, ch
                    assert ch["fragments_skipped"] > 0, ch
                    assert ch["queue_bytes"] <= QUEUE_BOUND, ch

            # The watcher is not delayed by more than one fragment.
            assert watcher.error is None, watcher.error
            before = watcher.latencies(0, baseline_end)
            during = watcher.latencies(baseline_end + 1, stall_end)
            assert len(before) >= 15, f"{len(before)} fragments before"
            assert len(during) >= 100, f"{len(during)} fragments during"
            print(f"# watcher latency before: p50 "
                  f"{percentile(before, 0.5) * 1000:.0f} ms, max "
                  f"{before[-1] * 1000:.0f} ms; during the stall: p50 "
                  f"{percentile(during, 0.5) * 1000:.0f} ms, p99 "
                  f"{percentile(during, 0.99) * 1000:.0f} ms, max "
                  f"{during[-1] * 1000:.0f} ms")
            assert percentile(during, 0.99) <= before[-1] + FRAGMENT_S, (
                before[-1], percentile(during, 0.99))

            # Memory: at most the three queue bounds (the stalled
            # viewers share most of the fragments they hold) plus
            # allocator slack, and no growth in the last third.
            growth = max(rss) - rss_before
            print(f"# RSS {rss_before >> 20} MiB before the stall, "
                  f"max {max(rss) >> 20} MiB during it")
            assert growth <= 3 * QUEUE_BOUND + (8 << 20), (
                f"RSS grew by {growth >> 20} MiB")
            settled = max(rss[:2 * STALL_SECONDS // 3])
            assert max(rss[2 * STALL_SECONDS // 3:]) <= settled + (4 << 20), (
                f"RSS still growing: {settled >> 20} MiB -> "
                f"{max(rss) >> 20} MiB")

            status, _, storage = vmsd.request("GET", "/api/v1/storage")
            assert status == 200, storage
            assert storage["recorder"]["dropped"] == 0, storage["recorder"]
        finally:
            for sock in stalled:
                sock.close()
            if watcher:
                watcher.stopping = True
                watcher.ws.close()
            vmsd.stop()
            cam.stop()

        # The recording has no gap: each segment starts where the
        # previous one ended.
        rows = vmsd.catalog_rows()
        assert len(rows) >= 6, json.dumps(rows, indent=1)
        for a, b in zip(rows, rows[1:]):
            assert abs(b["start_us"] - a["end_us"]) <= 100_000, (
                f"recording gap: {a['end_us']} -> {b['start_us']}")


if __name__ == "__main__":
    run([test_stalled_viewers_isolated])
