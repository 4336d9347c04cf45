"""Bad input gets a clear error and the daemon keeps running: an
unparseable URL, an unreachable host, a stream with no video, malformed
API JSON, an unknown camera id."""

import os
import subprocess

from vmstest import (VMSD, Daemon, FakeCamera, free_port, run, wait_for,
                     workspace)


def test_bad_api_requests():
    with workspace("bad-api") as tmp:
        vmsd = Daemon(tmp)
        try:
            cases = [
                ("POST", "/api/v1/cameras", "{not json",
                 400, "malformed JSON"),
                ("POST", "/api/v1/cameras", {"name": "x"}, 400, "main_url"),
                ("POST", "/api/v1/cameras",
                 {"name": "x", "main_url": "http://example/a"}, 400,
                 "invalid main_url"),
                ("POST", "/api/v1/cameras",
                 {"name": "x", "main_url": "rtsp://"}, 400,
                 "invalid main_url"),
                ("POST", "/api/v1/cameras",
                 {"name": "x", "main_url": "rtsp://h/a", "colour": 1}, 400,
                 "unknown field 'colour'"),
                ("POST", "/api/v1/cameras",
                 {"name": 5, "main_url": "rtsp://h/a"}, 400,
                 "invalid name"),
                ("POST", "/api/v1/cameras", "[1,2]", 400, "JSON object"),
                ("POST", "/api/v1/cameras",
                 {"name": "a\nb", "main_url": "rtsp://h/a"}, 400,
                 "control characters"),
                ("POST", "/api/v1/cameras",
                 {"name": "x", "main_url": "rtsp://[::1/x"}, 400,
                 "invalid main_url"),
                ("POST", "/api/v1/holds",
                 {"camera_id": 1.5, "start_us": 1, "end_us": 2}, 400,
                 "invalid camera_id"),
                ("POST", "/api/v1/holds",
                 {"camera_id": 1, "start_us": 1, "end_us": 2, "x": 1}, 400,
                 "unknown field 'x'"),
                ("GET", "/api/v1/cameras/99", None, 404, "camera 99 not found"),
                ("GET", "/api/v1/cameras/abc", None, 404, "unknown API path"),
                ("DELETE", "/api/v1/cameras/99", None, 404, "not found"),
                ("GET", "/api/v1/cameras/99/snapshot.jpg", None,
                 404, "not found"),
                ("GET", "/api/v1/nothing", None, 404, "unknown API path"),
            ]
            for method, path, body, want, words in cases:
                status, _, reply = vmsd.request(method, path, body)
                assert status == want, (method, path, status, reply)
                assert words in reply["error"], (path, reply)

            cid = vmsd.add_camera("Spare", "rtsp://127.0.0.1:9/x")
            for query, words in [("from=abc&to=2", "invalid from"),
                                 ("to=2", "missing from"),
                                 ("from=5&to=2", "to must be after from"),
                                 ("from=-9223372036854775808"
                                  "&to=9223372036854775807", "invalid from"),
                                 ("from=0&to=9223372036854775807",
                                  "invalid to")]:
                status, _, reply = vmsd.request(
                    "GET", f"/api/v1/cameras/{cid}/recordings?{query}")
                assert status == 400 and words in reply["error"], reply
            status, _, reply = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/playback.mp4?from=1&to=2")
            assert status == 404, reply
            status, _, _ = vmsd.request(
                "POST", "/api/v1/cameras", "x" * 70000)
            assert status == 413
            status, _, reply = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/playback.mp4"
                       "?from=-9223372036854775808&to=9223372036854775807")
            assert status == 400, reply

            # Pages of other sites, and DNS rebinding, are refused.
            for headers in [{"Origin": "http://evil.example"},
                            {"Host": "evil.example"}]:
                status, _, reply = vmsd.request(
                    "POST", "/api/v1/cameras",
                    {"name": "x", "main_url": "rtsp://h/a"}, headers=headers)
                assert status == 403, (headers, status, reply)
                assert "another site" in reply["error"]
            status, _, _ = vmsd.request(
                "GET", "/api/v1/cameras",
                headers={"Origin": f"http://127.0.0.1:{vmsd.port}"})
            assert status == 200
            assert vmsd.alive()
            status, _, cams = vmsd.request("GET", "/api/v1/cameras")
            assert status == 200 and len(cams) == 1
        finally:
            vmsd.stop()


def test_bad_cameras_keep_daemon_running():
    with workspace("bad-camera") as tmp:
        vmsd = Daemon(tmp)
        cam = FakeCamera(tmp, extra=["--no-video"])
        try:
            dead = vmsd.add_camera("Dead", f"rtsp://127.0.0.1:{free_port()}/x")
            state = vmsd.wait_state(dead, "retrying", 20)
            assert "Connection refused" in state["error"], state
            assert "camera" in state["error"] and "Dead" in state["error"]

            # 192.0.2.0/24 is reserved for documentation (RFC 5737); the
            # daemon must give up within its timeout, not hang.
            unreachable = vmsd.add_camera("Far", "rtsp://192.0.2.1:554/x")
            state = vmsd.wait_state(unreachable, "retrying", 20)
            assert "Far" in state["error"], state

            novideo = vmsd.add_camera("Mute", cam.url)
            state = vmsd.wait_state(novideo, "failed", 20)
            assert "no video" in state["error"], state
            assert "Mute" in state["error"], state

            status, _, _ = vmsd.request("GET", "/api/v1/cameras")
            assert status == 200 and vmsd.alive()
        finally:
            vmsd.stop()
            cam.stop()


def test_unrecorded_audio_codec_skipped_once():
    with workspace("pcma") as tmp:
        cam = FakeCamera(tmp, extra=["--extra-audio", "pcma"])
        vmsd = Daemon(tmp, segment_seconds=3)
        try:
            cid = vmsd.add_camera("Intercom", cam.url)
            state = vmsd.wait_state(cid, "streaming", 20)
            assert state["codec"].endswith(",mp4a.40.2"), state
            wait_for(lambda: vmsd.catalog_rows(), 30, what="a segment")
        finally:
            vmsd.stop()
            cam.stop()
        log = vmsd.output()
        skipped = [line for line in log.splitlines()
                   if "action=skipped" in line]
        assert len(skipped) == 1, skipped
        assert "codec=pcm_alaw" in skipped[0], skipped


def test_second_daemon_refused():
    with workspace("second") as tmp:
        vmsd = Daemon(tmp)
        try:
            result = subprocess.run([VMSD, "-c", vmsd.conf],
                                    capture_output=True, text=True,
                                    timeout=20)
            assert result.returncode != 0, result
            assert "another vmsd already uses this data directory" in \
                result.stderr, result.stderr
            assert vmsd.alive()
            mode = os.stat(os.path.join(vmsd.data_dir, "catalog.db")).st_mode
            assert mode & 0o077 == 0, f"catalog mode {oct(mode)}"
        finally:
            vmsd.stop()


def test_daemon_rejects_bad_config():
    with workspace("bad-config") as tmp:
        conf = f"{tmp}/vms.conf"
        cases = [
            ("listen = 0.0.0.0:8080\n", "not a loopback address"),
            ("listen = 192.0.2.1:8080\n", "set listen = 127.0.0.1:8080"),
            ("colour = blue\n", "unknown key 'colour'"),
            ("segment_seconds = 0\n", "invalid segment_seconds '0'"),
            ("listen = nonsense\n", "invalid listen 'nonsense'"),
        ]
        for text, words in cases:
            with open(conf, "w") as f:
                f.write(f"data_dir = {tmp}/data\n" + text)
            result = subprocess.run([VMSD, "-c", conf], capture_output=True,
                                    text=True, timeout=10)
            assert result.returncode == 2, (text, result.returncode)
            assert words in result.stderr, (text, result.stderr)
        result = subprocess.run([VMSD, "-c", f"{tmp}/missing.conf"],
                                capture_output=True, text=True, timeout=10)
        assert result.returncode == 2 and "cannot open" in result.stderr


if __name__ == "__main__":
    run([test_bad_api_requests, test_bad_cameras_keep_daemon_running,
         test_unrecorded_audio_codec_skipped_once,
         test_second_daemon_refused, test_daemon_rejects_bad_config])
