#!/usr/bin/env python3
"""Live view benchmark: CAMERAS cameras fed by one RTSP test camera, and
VIEWERS WebSocket viewers spread over them on loopback. Reports the
daemon's CPU and memory from /proc, the fragments delivered and
skipped, and the server-side latency from the daemon's statistics.
Then, in the same run and with the viewers still connected, Chromium
measures the player latency of MSE over WebSocket, of the daemon's
LL-HLS, and of FFmpeg's hls muxer fed from the same camera.

    VMS_BUILD_DIR=build python3 bench/live/run.py [--cameras 8]
        [--viewers 64] [--seconds 60] [--browser-seconds 20]

This is a measurement, not a test: it prints the figures as JSON and
does not compare them with targets. It needs the daemon and fake-camera built, ffmpeg, and
tests/browser's playwright-core with Debian's chromium.
"""

import argparse
import datetime
import functools
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import vmstest  # noqa: E402
from vmstest import (Daemon, FakeCamera, WebSocket, free_port,  # noqa: E402
                     wait_for, workspace)


class Viewer(threading.Thread):
    """A WebSocket viewer of one camera that reads everything."""

    def __init__(self, port, camera_id):
        super().__init__(daemon=True)
        self.ws = WebSocket("127.0.0.1", port,
                            f"/api/v1/cameras/{camera_id}/live?stream=main")
        self.fragments = 0
        self.bytes = 0
        self.error = None
        self.stopping = False

    def run(self):
        try:
            while not self.stopping:
                opcode, message = self.ws.receive()
                self.bytes += len(message)
                if opcode == 2 and message[4:8] == b"moof":
                    self.fragments += 1
        except (OSError, ConnectionError) as err:
            if not self.stopping:
                self.error = err

    def stop(self):
        self.stopping = True
        self.ws.close()


class PlaylistWatcher(threading.Thread):
    """Polls a playlist every 20 ms and records when each part (or
    segment, for a playlist without parts) first appears, with its
    EXT-X-PROGRAM-DATE-TIME. From these, clock_offset_ms() estimates how
    far a playlist's wall-clock times lie from the moments the media
    arrived, to correct PROGRAM-DATE-TIME based latencies."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.seen = {}      # URI -> (first seen, UTC start in seconds)
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                # The daemon's playlist needs the API key; FFmpeg's
                # server ignores the header.
                req = urllib.request.Request(
                    self.url,
                    headers={"Authorization": f"Bearer {vmstest.API_KEY}"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    text = resp.read().decode()
            except OSError:
                time.sleep(0.1)
                continue
            now = time.time()
            for uri, start in self.entries(text):
                self.seen.setdefault(uri, (now, start))
            time.sleep(0.02)

    @staticmethod
    def entries(text):
        """Yields (URI, UTC start) of each part, or of each segment when
        the playlist has no parts."""
        has_parts = "#EXT-X-PART:" in text
        when = None
        for line in text.splitlines():
            if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                stamp = line.split(":", 1)[1].replace("Z", "+00:00")
                when = datetime.datetime.fromisoformat(stamp).timestamp()
            elif has_parts and line.startswith("#EXT-X-PART:"):
                duration = float(line.split("DURATION=")[1].split(",")[0])
                uri = line.split('URI="')[1].split('"')[0]
                yield uri, when
                when += duration
            elif line.startswith("#EXTINF:"):
                duration = float(line[8:].split(",")[0])
            elif not has_parts and line and not line.startswith("#"):
                yield line, when
                when += duration

    def clock_offset_ms(self):
        """Returns the median of (UTC start of entry k+1) - (time entry
        k appeared), in milliseconds. Entry k is complete once the media
        of entry k+1 starts to arrive. So the result is how far the
        playlist's clock runs ahead of the media's arrival, minus any
        delay in publishing entry k (for the daemon: one frame, which
        the ingest holds back)."""
        ordered = sorted(self.seen.values(), key=lambda v: v[1])
        # The first entries were already listed when polling began.
        first_new = next((i for i, v in enumerate(ordered)
                          if v[0] > ordered[0][0] + 0.5), len(ordered))
        deltas = [(b[1] - a[0]) * 1000 for a, b in
                  zip(ordered[first_new:], ordered[first_new + 1:])]
        return round(statistics.median(deltas)) if deltas else None


def cpu_seconds(pid):
    """Returns the user + system CPU time of pid from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def memory(pid):
    """Returns VmRSS and VmHWM of pid in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) * 1024
    return out


class CorsHandler(http.server.SimpleHTTPRequestHandler):
    """Serves FFmpeg's HLS files to a page on the daemon's origin."""

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def start_ffmpeg_hls(url, directory, log):
    """Starts FFmpeg's hls muxer (fMP4 segments, copied, cut at
    keyframes) reading the camera. It probes the input as the daemon's
    ingest does (1 s), because both stamp wall-clock times once probing
    ends, so probing longer would make FFmpeg's latency look shorter."""
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
         "-analyzeduration", "1000000", "-probesize", "1000000", "-i", url, "-map", "0", "-c", "copy", "-f", "hls", "-hls_time", "1",
         "-hls_list_size", "6", "-hls_flags",
         "delete_segments+program_date_time+independent_segments",
         "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
         os.path.join(directory, "index.m3u8")],
        stdout=log, stderr=subprocess.STDOUT)


def stream_stats(vmsd, camera_id):
    status, _, report = vmsd.request(
        "GET", f"/api/v1/cameras/{camera_id}/live/stats")
    if status != 200:
        raise RuntimeError(f"live stats of camera {camera_id}: {report}")
    return report["streams"][f"{camera_id}:main"]


def run_bench(args):
    result = {"cameras": args.cameras, "viewers": args.viewers,
              "seconds": args.seconds}
    with workspace("bench-live") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        viewers = []
        client = None
        ffmpeg = None
        httpd = None
        try:
            ids = [vmsd.add_camera(f"Camera {i + 1}", cam.url)
                   for i in range(args.cameras)]
            for cid in ids:
                vmsd.wait_state(cid, "streaming", 30)
            published_before = {cid: vmsd.stream(cid)["fragments"]
                                for cid in ids}
            paths = [f"/api/v1/cameras/{ids[i % len(ids)]}/live?stream=main"
                     for i in range(args.viewers)]
            if args.client == "c":
                exe = os.path.join(tmp, "viewers")
                subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-o", exe,
                                os.path.join(HERE, "viewers.c")], check=True)
                client = subprocess.Popen(
                    [exe, str(vmsd.port), "86400", *paths],
                    stdout=subprocess.PIPE, text=True)
            else:
                for i in range(args.viewers):
                    viewer = Viewer(vmsd.port, ids[i % len(ids)])
                    viewer.start()
                    viewers.append(viewer)
            time.sleep(5)

            pid = vmsd.proc.pid
            cpu0 = cpu_seconds(pid)
            client_pid = client.pid if client else os.getpid()
            clients0 = cpu_seconds(client_pid)
            t0 = time.monotonic()
            rss = []
            while time.monotonic() - t0 < args.seconds:
                time.sleep(1)
                rss.append(memory(pid)["VmRSS"])
            elapsed = time.monotonic() - t0
            cpu = (cpu_seconds(pid) - cpu0) / elapsed
            clients_cpu = (cpu_seconds(client_pid) - clients0) / elapsed
            mem = memory(pid)

            totals = {"fragments_sent": 0, "fragments_skipped": 0,
                      "overflows": 0, "bytes_sent": 0}
            per_camera = []
            for cid in ids:
                st = stream_stats(vmsd, cid)
                for key in totals:
                    totals[key] += st[key]
                per_camera.append(st)
            published = sum(vmsd.stream(cid)["fragments"] -
                            published_before[cid] for cid in ids)
            result["daemon"] = {
                "cpu_percent_of_one_core": round(100 * cpu, 1),
                "rss_mib_max": round(max(rss) / 2**20, 1),
                "rss_mib_end": round(mem["VmRSS"] / 2**20, 1),
                "hwm_mib": round(mem["VmHWM"] / 2**20, 1),
                "viewer_clients_cpu_percent": round(100 * clients_cpu, 1),
                "loadavg": os.getloadavg(),
            }
            result["delivery"] = {
                **totals,
                "fragments_published_per_camera": published // len(ids),
                "delivery_p50_us_median": sorted(
                    s["delivery_p50_us"] for s in per_camera)[
                        len(per_camera) // 2],
                "delivery_p99_us_max": max(s["delivery_p99_us"]
                                           for s in per_camera),
                "delivery_max_us": max(s["delivery_max_us"]
                                       for s in per_camera),
                "age_p50_us_median": sorted(
                    s["age_p50_us"] for s in per_camera)[
                        len(per_camera) // 2],
                "age_p99_us_max": max(s["age_p99_us"] for s in per_camera),
                "delivery_p99_us_per_camera": [s["delivery_p99_us"]
                                               for s in per_camera],
            }

            if args.browser_seconds > 0:
                hls_dir = os.path.join(tmp, "ffmpeg-hls")
                os.makedirs(hls_dir)
                ffmpeg_log = open(os.path.join(tmp, "ffmpeg.log"), "ab")
                ffmpeg = start_ffmpeg_hls(cam.url, hls_dir, ffmpeg_log)
                httpd = http.server.ThreadingHTTPServer(
                    ("127.0.0.1", free_port()),
                    functools.partial(CorsHandler, directory=hls_dir))
                threading.Thread(target=httpd.serve_forever,
                                 daemon=True).start()
                wait_for(lambda: os.path.exists(
                    os.path.join(hls_dir, "index.m3u8")), 30,
                    what="FFmpeg's first HLS playlist")
                time.sleep(3)
                mime = vmsd.stream(ids[0])["mime"]
                ffmpeg_url = (f"http://127.0.0.1:{httpd.server_address[1]}"
                              "/index.m3u8")
                watchers = {
                    "ll_hls": PlaylistWatcher(
                        f"{vmsd.base}/api/v1/cameras/{ids[0]}/hls/"
                        "index.m3u8?stream=main"),
                    "other_hls": PlaylistWatcher(ffmpeg_url),
                }
                for watcher in watchers.values():
                    watcher.start()
                status, session = vmsd.login(vmstest.ADMIN_USER,
                                             vmstest.ADMIN_PASSWORD)
                assert status == 200, session
                out = subprocess.run(
                    ["node", os.path.join(HERE, "chromium.mjs"), vmsd.base,
                     str(ids[0]), mime, str(args.browser_seconds),
                     ffmpeg_url],
                    capture_output=True, text=True, timeout=600,
                    env=dict(os.environ, VMS_SESSION=session["token"]))
                for watcher in watchers.values():
                    watcher.stopping = True
                if out.returncode != 0:
                    raise RuntimeError("chromium.mjs failed:\n" + out.stderr)
                result["chromium"] = json.loads(out.stdout.splitlines()[-1])
                for name, watcher in watchers.items():
                    result["chromium"][name]["clock_offset_ms"] = (
                        watcher.clock_offset_ms())
                result["load_during_browser_run"] = {
                    "cpu_count": os.cpu_count(),
                    "loadavg": os.getloadavg(),
                }
            # What the viewers received against what the daemon sent,
            # both counted now, at the end.
            sent = sum(stream_stats(vmsd, cid)["fragments_sent"]
                       for cid in ids)
            if client:
                client.terminate()
                received = json.loads(client.communicate(timeout=30)[0])
                client = None
            else:
                received = {
                    "fragments": sum(v.fragments for v in viewers),
                    "failed": sum(1 for v in viewers if v.error)}
            result["end"] = {"fragments_sent": sent,
                             "fragments_received": received["fragments"],
                             "viewers_failed": received["failed"]}
        finally:
            if client:
                client.kill()
                client.wait()
            for viewer in viewers:
                viewer.stop()
            if httpd:
                httpd.shutdown()
            if ffmpeg:
                ffmpeg.terminate()
                ffmpeg.wait(10)
            vmsd.stop()
            cam.stop()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8,
                        help="cameras added, all reading the test camera")
    parser.add_argument("--viewers", type=int, default=64,
                        help="WebSocket viewers, spread over the cameras")
    parser.add_argument("--seconds", type=int, default=60,
                        help="length of the measurement, in seconds")
    parser.add_argument("--client", choices=("c", "python"), default="c",
                        help="viewer client: bench/live/viewers.c (one "
                             "epoll loop) or Python threads")
    parser.add_argument("--browser-seconds", type=int, default=20,
                        help="seconds Chromium measures each player "
                             "(0 skips the browser)")
    args = parser.parse_args()
    if not os.environ.get("VMS_BUILD_DIR"):
        parser.error("set VMS_BUILD_DIR to the build directory")
    print(json.dumps(run_bench(args), indent=2))


if __name__ == "__main__":
    main()
