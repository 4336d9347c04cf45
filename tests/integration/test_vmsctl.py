"""vmsctl against the real daemon and the RTSP test camera: camera add,
list, show, set and rm, recordings, status, and the errors and exit
codes for an unreachable daemon, unknown ids, bad URLs and bad
arguments. A raw-socket mock server sends the malformed and unusual
HTTP responses that vmsd never sends, such as chunked bodies and
truncated headers."""

import json
import os
import secrets
import socket
import subprocess
import threading

from vmstest import (BUILD, SOURCE, Daemon, FakeCamera, free_port, run,
                     wait_for, workspace)

VMSCTL = os.environ.get("VMSCTL", os.path.join(BUILD, "src/vmsctl/vmsctl"))

# The test camera's footage: tests/data/car-detection.mp4, H.264 video
# with AAC audio.
FOOTAGE_CODEC = "h264+aac"
FOOTAGE_SIZE = "768x432"


def vmsctl(*args, url=None, stdin=None, env_url=None, timeout=90):
    """Runs vmsctl; returns the CompletedProcess with text output."""
    env = {k: v for k, v in os.environ.items() if k != "VMS_URL"}
    if env_url is not None:
        env["VMS_URL"] = env_url
    argv = [VMSCTL] + (["--url", url] if url else []) + list(args)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                          env=env, timeout=timeout)


def describe(result):
    return (f"exit {result.returncode}\nstdout:\n{result.stdout}\n"
            f"stderr:\n{result.stderr}")


def table_rows(text):
    """Splits the `camera list` table into dicts keyed by its header,
    cutting each line where the header's columns start."""
    lines = text.rstrip("\n").splitlines()
    header = lines[0].split()
    starts = [lines[0].index(name) for name in header]
    ends = starts[1:] + [None]
    return [{name: line[start:end].strip()
             for name, start, end in zip(header, starts, ends)}
            for line in lines[1:]]


def list_row(url, camera_id):
    result = vmsctl("camera", "list", url=url)
    assert result.returncode == 0, describe(result)
    for row in table_rows(result.stdout):
        if row["ID"] == str(camera_id):
            return row
    raise AssertionError(f"camera {camera_id} missing:\n{result.stdout}")


def test_camera_lifecycle():
    password = "pw-" + secrets.token_hex(8)
    with workspace("vmsctl") as tmp:
        cam = FakeCamera(tmp, extra=["--user", "admin", "--password",
                                     password, "--auth", "digest"])
        vmsd = Daemon(tmp, segment_seconds=2)
        outputs = []
        try:
            password_file = os.path.join(tmp, "camera-password")
            with open(os.open(password_file, os.O_WRONLY | os.O_CREAT,
                              0o600), "w") as f:
                f.write(password + "\n")

            added = vmsctl("camera", "add", "--name", "Door", "--main",
                           cam.url, "--user", "admin", "--password-file",
                           password_file, url=vmsd.base)
            outputs.append(added)
            assert added.returncode == 0, describe(added)
            camera_id = int(added.stdout.strip())
            assert added.stderr == "", describe(added)

            row = wait_for(lambda: (r := list_row(vmsd.base, camera_id))
                           ["STATE"] == "streaming" and r, 30,
                           what="camera list to show streaming")
            assert row["NAME"] == "Door", row
            assert row["CODEC"] == FOOTAGE_CODEC, row
            assert row["RESOLUTION"] == FOOTAGE_SIZE, row
            assert float(row["FPS"]) > 0, row
            assert row["ERROR"] == "-", row

            listed = vmsctl("camera", "list", "--json", url=vmsd.base)
            outputs.append(listed)
            assert listed.returncode == 0, describe(listed)
            cameras = json.loads(listed.stdout)
            assert [c["id"] for c in cameras] == [camera_id], cameras
            assert cameras[0]["password_set"] is True, cameras

            shown = vmsctl("camera", "show", str(camera_id), url=vmsd.base)
            outputs.append(shown)
            assert shown.returncode == 0, describe(shown)
            assert "streaming" in shown.stdout, shown.stdout
            assert "password" in shown.stdout, shown.stdout
            assert "not set" not in shown.stdout, shown.stdout

            status = vmsctl("status", env_url=vmsd.base)
            outputs.append(status)
            assert status.returncode == 0, describe(status)
            assert "1 streaming" in status.stdout, status.stdout

            # Closed 2 s segments appear in the list within seconds.
            def recordings():
                result = vmsctl("recordings", str(camera_id), "--from",
                                "-10m", "--to", "now", "--json",
                                url=vmsd.base)
                assert result.returncode == 0, describe(result)
                return json.loads(result.stdout)["recordings"]
            recs = wait_for(recordings, 30, interval=1,
                            what="recordings to be listed")
            assert all(r["end_us"] > r["start_us"] for r in recs), recs
            table = vmsctl("recordings", str(camera_id), "--from",
                           str(recs[0]["start_us"]), "--to",
                           str(recs[-1]["end_us"]), url=vmsd.base)
            outputs.append(table)
            assert table.returncode == 0, describe(table)
            assert "recording " in table.stdout, table.stdout
            assert "main stream" in table.stdout, table.stdout

            changed = vmsctl("camera", "set", str(camera_id), "--name",
                             "Front door", "--disable", url=vmsd.base)
            outputs.append(changed)
            assert changed.returncode == 0, describe(changed)
            shown = vmsctl("camera", "show", str(camera_id), "--json",
                           url=vmsd.base)
            body = json.loads(shown.stdout)
            assert body["name"] == "Front door", body
            assert body["enabled"] is False, body
            row = wait_for(lambda: (r := list_row(vmsd.base, camera_id))
                           ["STATE"] == "disabled" and r, 20,
                           what="the disabled camera to stop")
            assert row["NAME"] == "Front door", row

            enabled = vmsctl("camera", "set", str(camera_id), "--enable",
                             url=vmsd.base)
            assert enabled.returncode == 0, describe(enabled)
            wait_for(lambda: list_row(vmsd.base, camera_id)["STATE"]
                     == "streaming", 30, what="the camera to stream again")

            # A password from a pipe reaches the camera just as well.
            piped = vmsctl("camera", "add", "--name", "Yard", "--main",
                           cam.url, "--user", "admin", "--password-stdin",
                           url=vmsd.base, stdin=password + "\n")
            outputs.append(piped)
            assert piped.returncode == 0, describe(piped)
            yard = int(piped.stdout)
            wait_for(lambda: list_row(vmsd.base, yard)["STATE"]
                     == "streaming", 30, what="the second camera to stream")

            removed = vmsctl("camera", "rm", str(camera_id), url=vmsd.base)
            outputs.append(removed)
            assert removed.returncode == 0, describe(removed)
            gone = vmsctl("camera", "show", str(camera_id), url=vmsd.base)
            assert gone.returncode == 1, describe(gone)
            assert f"camera {camera_id} not found" in gone.stderr, \
                describe(gone)
        finally:
            vmsd.stop()
            cam.stop()
        for result in outputs:
            assert password not in result.stdout + result.stderr, \
                describe(result)
        assert password not in vmsd.output(), "password in the daemon log"


def test_error_messages():
    with workspace("vmsctl-errors") as tmp:
        vmsd = Daemon(tmp)
        try:
            closed = f"http://127.0.0.1:{free_port()}"
            result = vmsctl("camera", "list", url=closed)
            assert result.returncode == 1, describe(result)
            assert "not reachable" in result.stderr, describe(result)
            assert closed in result.stderr, describe(result)
            assert "Start vmsd" in result.stderr, describe(result)
            assert "--url" in result.stderr, describe(result)

            result = vmsctl("status", env_url=closed)
            assert result.returncode == 1, describe(result)
            assert closed in result.stderr, describe(result)

            for args, words in [
                (["camera", "show", "9999"], "camera 9999 not found"),
                (["camera", "rm", "9999"], "camera 9999 not found"),
                (["camera", "set", "9999", "--name", "x"],
                 "camera 9999 not found"),
                (["recordings", "9999", "--from", "0", "--to", "1"],
                 "not found"),
                (["camera", "add", "--name", "x", "--main",
                  "http://example.invalid/a"], "invalid main_url"),
                (["camera", "add", "--name", "x", "--main", "rtsp://"],
                 "invalid main_url"),
                (["camera", "add", "--name", "x", "--main", "rtsp://h/a",
                  "--password-file", os.path.join(tmp, "missing")],
                 "cannot open password file"),
            ]:
                result = vmsctl(*args, url=vmsd.base)
                assert result.returncode == 1, (args, describe(result))
                assert words in result.stderr, (args, describe(result))
                assert "(HTTP 4" in result.stderr or "password file" in \
                    result.stderr, (args, describe(result))

            empty = os.path.join(tmp, "empty-password")
            open(empty, "w").close()
            usage_cases = [
                (["--url", "htps://127.0.0.1:1", "status"],
                 "or https://HOST"),
                (["--url", "ftp://127.0.0.1/", "status"], "invalid URL"),
                (["--url", "http://127.0.0.1:99999", "status"],
                 "invalid port"),
                (["--url", "http://user@127.0.0.1/", "status"],
                 "without user"),
                (["camera", "show", "abc"], "invalid camera ID 'abc'"),
                (["camera", "show"], "missing camera ID"),
                (["camera", "add", "--main", "rtsp://h/a"], "missing --name"),
                (["camera", "add", "--name", "x", "--main",
                  "rtsp://admin:hunter2@h/a"], "contains a password"),
                (["camera", "add", "--name", "x", "--main", "rtsp://h/a",
                  "--password-file", empty, "--password-stdin"],
                 "cannot be used together"),
                (["camera", "set", "1"], "nothing to change"),
                (["camera", "set", "1", "--enable", "--disable"],
                 "cannot be used together"),
                (["camera", "list", "--colour"], "unknown option '--colour'"),
                (["camera", "add", "--name"], "needs a value"),
                (["camera", "fly"], "unknown command 'fly'"),
                (["recordings", "1", "--from", "yesterday", "--to", "now"],
                 "invalid --from 'yesterday'"),
                (["recordings", "1", "--from", "now", "--to", "-1h"],
                 "--to must be after --from"),
                (["recordings", "1", "--to", "now"], "missing --from"),
                (["recordings", "1", "--from", "-1h", "--to", "now",
                  "--stream", "third"], "invalid --stream 'third'"),
                (["recordings", "1", "--from", "2026-02-30", "--to", "now"],
                 "invalid --from"),
                (["teleport"], "unknown command 'teleport'"),
                ([], "missing command"),
            ]
            for args, words in usage_cases:
                result = vmsctl(*args, url=None if args[:1] == ["--url"]
                                else vmsd.base)
                assert result.returncode == 2, (args, describe(result))
                assert words in result.stderr, (args, describe(result))
                assert "Usage:" in result.stderr or "URL" in result.stderr, \
                    (args, describe(result))
                assert "hunter2" not in result.stderr, describe(result)

            result = vmsctl("camera", "add", "--name", "x", "--main",
                            "rtsp://h/a", "--password-file", empty,
                            url=vmsd.base)
            assert result.returncode == 1, describe(result)
            assert "is empty" in result.stderr, describe(result)

            for args in (["--help"], ["help", "camera"],
                         ["camera", "add", "--help"],
                         ["recordings", "--help"]):
                result = vmsctl(*args)
                assert result.returncode == 0, (args, describe(result))
                assert "Usage:" in result.stdout, (args, describe(result))

            # The daemon saw no request from the rejected commands.
            status, _, cameras = vmsd.request("GET", "/api/v1/cameras")
            assert status == 200, status
            assert cameras == [], cameras
        finally:
            vmsd.stop()


def test_detect_dispatch():
    result = vmsctl("detect", "--help")
    if "no object detector" in result.stderr:
        assert result.returncode == 1, describe(result)
        return
    assert result.returncode == 0, describe(result)
    assert "vmsctl detect" in result.stdout, describe(result)

    # The models come from scripts/fetch-models.sh. Without them only the
    # dispatch above is checked.
    if not os.path.exists(os.path.join(SOURCE, "models", "centernet")):
        print("note: models/ missing, so detect ran with --help only")
        return
    image = os.path.join(SOURCE, "tests/data/images/dog.jpg")
    result = subprocess.run([VMSCTL, "detect", image], capture_output=True,
                            text=True, cwd=SOURCE, timeout=300)
    assert result.returncode == 0, describe(result)
    assert "class=dog" in result.stdout, describe(result)


class MockRawHttpServer:
    """A loopback server that sends fixed raw bytes on each connection,
    for responses that the real daemon never sends. It records the
    requests it received."""

    def __init__(self, response, close=True, hold_seconds=0):
        self.response = response
        self.close = close
        self.hold_seconds = hold_seconds
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                try:
                    conn.sendall(self.response)
                except OSError:
                    pass  # the client gave up, as for an oversized header
                if self.hold_seconds:
                    self.stopping.wait(self.hold_seconds)

    def stop(self):
        self.stopping.set()
        # shutdown() wakes the blocked accept(), which close() does not.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)


def response_with_body(status, body):
    return (b"HTTP/1.1 " + status + b"\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n\r\n" + body)


def test_malformed_responses():
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    cases = [
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", 1, "malformed HTTP status line"),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", 1, "malformed HTTP status line"),
        (b"HTTP/1.1 999 Odd\r\n\r\n", 1, "invalid HTTP status code"),
        (b"", 1, "without a response"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", 1, "middle of the response"),
        (ok + b"Content-Length: 100\r\n\r\n[]", 1, "after 2 of 100 body"),
        (ok + b"Content-Length: 99999999999\r\n\r\n", 1,
         "exceeds the limit"),
        (ok + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n[]", 1,
         "conflicting Content-Length"),
        (ok + b"Content-Length: -2\r\n\r\n[]", 1, "invalid Content-Length"),
        (ok + b"Transfer-Encoding: gzip\r\n\r\n[]", 1,
         "unsupported Transfer-Encoding"),
        (ok + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 1,
         "invalid chunk size line"),
        (ok + b"Transfer-Encoding: chunked\r\n\r\n2\r\n[]xx", 1,
         "not followed by CRLF"),
        (ok + b"Transfer-Encoding: chunked\r\n\r\n2\r\n[", 1,
         "middle of a chunked body"),
        (ok + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n", 1,
         "response header exceeds"),
        (ok + b" folded\r\n\r\n", 1, "folded header"),
        (ok + b"Bad Name: 1\r\n\r\n", 1, "invalid header name"),
        (ok + b"Content-Length: 5\r\n\r\n[1,,]", 1, "invalid JSON"),
        (response_with_body(b"500 Internal Server Error", b"<h1>x</h1>"), 1,
         "HTTP 500 Internal Server Error without a JSON"),
        # An escape sequence in the daemon's message reaches no terminal.
        (response_with_body(b"503 Busy", b'{"error": "disk \\u001b[31m"}'),
         1, "disk ?[31m (HTTP 503)"),
        # Valid framings that vmsd does not use, each listing no cameras.
        (ok + b"Transfer-Encoding: chunked\r\n\r\n"
         b"1;ext=1\r\n[\r\n1\r\n]\r\n0\r\nX-Trailer: 1\r\n\r\n", 0,
         "No cameras"),
        (ok + b"\r\n[]", 0, "No cameras"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + ok +
         b"Content-Length: 2\r\n\r\n[]", 0, "No cameras"),
        (b"HTTP/1.0 200 OK\n\n[]", 0, "No cameras"),
    ]
    for response, code, words in cases:
        server = MockRawHttpServer(response)
        try:
            result = vmsctl("camera", "list", url=server.url, timeout=30)
        finally:
            server.stop()
        assert result.returncode == code, (response[:80], describe(result))
        output = result.stdout if code == 0 else result.stderr
        assert words in output, (response[:80], describe(result))
        assert "\x1b" not in result.stderr, describe(result)
        request = server.requests[0].decode()
        assert request.startswith("GET /api/v1/cameras HTTP/1.1\r\n"), \
            request
        assert "\r\nConnection: close\r\n" in request, request
        assert f"\r\nHost: {server.url[7:]}\r\n" in request, request


def test_response_timeout():
    server = MockRawHttpServer(b"HTTP/1.1 200 OK\r\n", hold_seconds=10)
    try:
        result = vmsctl("--timeout", "1", "status", url=server.url,
                        timeout=30)
    finally:
        server.stop()
    assert result.returncode == 1, describe(result)
    assert "no response data for 1000 ms" in result.stderr, describe(result)


def test_url_prefix():
    server = MockRawHttpServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                               b"\r\n[]")
    try:
        result = vmsctl("camera", "list", url=server.url + "/vms/")
    finally:
        server.stop()
    assert result.returncode == 0, describe(result)
    request = server.requests[0].decode()
    assert request.startswith("GET /vms/api/v1/cameras HTTP/1.1"), request


def test_api_key_header():
    key = "key-" + secrets.token_hex(8)
    with workspace("vmsctl-key") as tmp:
        key_file = os.path.join(tmp, "api-key")
        with open(key_file, "w") as f:
            f.write(key + "\n")
        server = MockRawHttpServer(response_with_body(b"200 OK", b"[]"))
        try:
            from_file = vmsctl("--api-key-file", key_file, "camera", "list",
                               url=server.url)
            env = dict(os.environ, VMS_API_KEY=key)
            from_env = subprocess.run(
                [VMSCTL, "--url", server.url, "camera", "list"],
                capture_output=True, text=True, env=env, timeout=30)
        finally:
            server.stop()
        assert from_file.returncode == 0, describe(from_file)
        assert from_env.returncode == 0, describe(from_env)
        for request in server.requests:
            assert f"\r\nAuthorization: Bearer {key}\r\n" in \
                request.decode(), request

        missing = vmsctl("--api-key-file", os.path.join(tmp, "none"),
                         "status", url=server.url)
        assert missing.returncode == 1, describe(missing)
        assert "cannot open API key file" in missing.stderr, \
            describe(missing)

    denied = MockRawHttpServer(response_with_body(
        b"401 Unauthorized", b'{"error": "login required"}'))
    try:
        # Without a key: the environment of an earlier daemon's test may
        # carry VMS_API_KEY.
        env = {k: v for k, v in os.environ.items() if k != "VMS_API_KEY"}
        result = subprocess.run([VMSCTL, "--url", denied.url, "status"],
                                capture_output=True, text=True, env=env,
                                timeout=30)
    finally:
        denied.stop()
    assert result.returncode == 1, describe(result)
    assert "login required (HTTP 401)" in result.stderr, describe(result)
    assert "--api-key-file" in result.stderr, describe(result)
    assert "Authorization" not in denied.requests[0].decode()


if __name__ == "__main__":
    run([test_camera_lifecycle, test_error_messages, test_detect_dispatch,
         test_malformed_responses, test_response_timeout, test_url_prefix,
         test_api_key_header])
