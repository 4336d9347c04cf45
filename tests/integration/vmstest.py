"""Helpers for the end-to-end tests: the real daemon, the RTSP test
camera, HTTP and WebSocket clients, and FFmpeg's tools for checking
what was recorded. Standard library only.

Every process a test starts is stopped by PID when the test ends, and
every temporary directory is removed, even when the test fails.
"""

import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("VMS_BUILD_DIR", "")
SOURCE = os.environ.get("VMS_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(
                            os.path.dirname(os.path.abspath(__file__)))))
VMSD = os.environ.get("VMSD", os.path.join(BUILD, "src/vmsd/vmsd"))
VMSCTL = os.environ.get("VMSCTL", os.path.join(BUILD, "src/vmsctl/vmsctl"))
FAKE_CAMERA = os.environ.get(
    "FAKE_CAMERA", os.path.join(BUILD, "tests/fixtures/fake-camera/fake-camera"))
FOOTAGE = os.path.join(SOURCE, "tests/data/car-detection.mp4")
FAULT_INJECT = os.path.join(BUILD,
                            "tests/fixtures/fault-inject/libfault-inject.so")
FOOTAGE_NO_AUDIO = os.path.join(SOURCE,
                                "tests/data/one-by-one-person-detection.mp4")

# The administrator that Daemon creates on a fresh data directory. Its
# API key is written to DATA_DIR/../api.key, sent on every request and
# exported as VMS_API_KEY for vmsctl.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct-horse-battery-7"


API_KEY = None


def free_port():
    """Returns a TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.2, what="condition"):
    """Polls predicate until it returns a true value; returns it or
    raises AssertionError naming what was awaited."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (OSError, ValueError, KeyError) as err:
            last = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; "
                         f"last value: {last!r}")


# Every Process started and not yet stopped, so that workspace() can
# stop what a failing test left running.
_running = []


class Process:
    """A child process whose output goes to a log file; stopped by PID."""

    def __init__(self, args, log_path, env=None):
        self.args = args
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        _running.append(self)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends sig and waits; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self in _running:
            _running.remove(self)
        return self.proc.returncode

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class FakeCamera(Process):
    """The RTSP test camera on a free loopback port."""

    def __init__(self, workdir, name="camera", port=None, extra=(),
                 footage=FOOTAGE):
        self.port = port or free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/main"
        super().__init__([FAKE_CAMERA, "--file", footage, "--port",
                          str(self.port), *extra],
                         os.path.join(workdir, name + ".log"))
        wait_for(lambda: "ready" in self.output() or not self.alive(), 10,
                 what="the test camera to listen")
        if not self.alive():
            raise AssertionError("test camera exited:\n" + self.output())


class Daemon(Process):
    """vmsd with its own data directory and port."""

    def __init__(self, workdir, segment_seconds=60, port=None, extra_conf="",
                 volume=None, env=None, tls_dir=None):
        """tls_dir: a directory made by `vmsctl tls init`, for HTTPS with
        its server certificate, checked against its CA."""
        self.workdir = workdir
        self.env = env
        self.port = port or free_port()
        self.data_dir = os.path.join(workdir, "data")
        self.volume = volume or os.path.join(self.data_dir, "video")
        self.conf = os.path.join(workdir, "vms.conf")
        with open(self.conf, "w") as f:
            f.write(f"listen = 127.0.0.1:{self.port}\n"
                    f"data_dir = {self.data_dir}\n"
                    f"volume = {self.volume}\n"
                    f"segment_seconds = {segment_seconds}\n"
                    f"web_root = {os.path.join(SOURCE, 'web')}\n"
                    f"retry_max_seconds = 4\n"
                    f"log_level = debug\n" + extra_conf)
            if tls_dir:
                f.write(f"tls_cert = {tls_dir}/server.pem\n"
                        f"tls_key = {tls_dir}/server.key\n")
        self.tls_context = None
        self.base = f"http://127.0.0.1:{self.port}"
        if tls_dir:
            self.tls_context = ssl.create_default_context(
                cafile=os.path.join(tls_dir, "ca.pem"))
            self.base = f"https://127.0.0.1:{self.port}"
        self.key_path = os.path.join(workdir, "api.key")
        self.api_key = None
        self.start()

    def start(self):
        for attempt in range(3):
            log_start = self._log_size()
            super().__init__([VMSD, "-c", self.conf],
                             os.path.join(self.workdir, "vmsd.log"),
                             env=self.env)
            wait_for(lambda: self._up() or not self.alive(), 10,
                     what="vmsd to listen")
            if self.alive():
                break
            self.stop()
            # Another process took the free port between free_port() and
            # the bind: move to a new one.
            if "ERROR on binding" not in self.output()[log_start:] or \
                    attempt == 2:
                raise AssertionError("vmsd exited:\n" + self.output())
            self._move_port(free_port())
        self._sign_in()

    def _log_size(self):
        path = os.path.join(self.workdir, "vmsd.log")
        return len(self.output()) if os.path.exists(path) and \
            hasattr(self, "log_path") else 0

    def _move_port(self, port):
        with open(self.conf) as f:
            text = f.read()
        text = text.replace(f"127.0.0.1:{self.port}\n",
                            f"127.0.0.1:{port}\n", 1)
        with open(self.conf, "w") as f:
            f.write(text)
        self.base = self.base.replace(f":{self.port}", f":{port}")
        self.port = port

    def _up(self):
        try:
            status, _, _ = self.request("GET", "/api/v1/health", auth=False)
            return status == 200
        except OSError:
            return False

    def setup_token(self):
        """Returns the last one-time setup token that vmsd printed, or
        None."""
        token = None
        for line in self.output().splitlines():
            if line.startswith("setup token: "):
                token = line.split(": ", 1)[1].strip()
        return token

    def login(self, user, password, totp_code=None):
        """Signs user in; returns (status, body) with body["token"] the
        session token on success."""
        body = {"username": user, "password": password, "bearer": True}
        if totp_code:
            body["totp_code"] = totp_code
        status, _, reply = self.request("POST", "/api/v1/auth/login", body,
                                        auth=False)
        return status, reply

    def _sign_in(self):
        """Creates the first administrator and an API key on a fresh data
        directory, or reuses the key of an earlier start."""
        if os.path.exists(self.key_path):
            with open(self.key_path) as f:
                self.api_key = f.read().strip()
        else:
            token = self.setup_token()
            assert token, "vmsd printed no setup token:\n" + self.output()
            status, _, reply = self.request(
                "POST", "/api/v1/auth/setup",
                {"token": token, "username": ADMIN_USER,
                 "password": ADMIN_PASSWORD}, auth=False)
            assert status == 201, f"setup failed: {status} {reply}"
            status, reply = self.login(ADMIN_USER, ADMIN_PASSWORD)
            assert status == 200, f"login failed: {status} {reply}"
            status, _, reply = self.request(
                "POST", "/api/v1/auth/keys", {"name": "tests"},
                headers={"Authorization": "Bearer " + reply["token"]})
            assert status == 201, f"API key creation failed: {reply}"
            self.api_key = reply["key"]
            with open(self.key_path, "w") as f:
                f.write(self.api_key)
        global API_KEY
        API_KEY = self.api_key
        os.environ["VMS_API_KEY"] = self.api_key

    def request(self, method, path, body=None, headers=None, raw=False,
                auth=True):
        """Sends a request; returns (status, headers with lower-case
        names, body). The body is parsed as JSON unless raw is set. The
        API key goes along unless auth is false or headers carry an
        Authorization of their own."""
        data = body
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        headers = dict(headers or {})
        if auth and self.api_key and "Authorization" not in headers:
            headers["Authorization"] = "Bearer " + self.api_key
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=headers)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60,
                                        context=self.tls_context) as resp:
                payload = resp.read()
                status = resp.status
                hdrs = {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            payload = err.read()
            status = err.code
            hdrs = {k.lower(): v for k, v in err.headers.items()}
        if raw:
            return status, hdrs, payload
        return status, hdrs, json.loads(payload) if payload else None

    def add_camera(self, name, url, **fields):
        status, _, body = self.request(
            "POST", "/api/v1/cameras", {"name": name, "main_url": url,
                                        **fields})
        assert status == 201, f"camera create failed: {status} {body}"
        return body["id"]

    def stream(self, camera_id, stream="main"):
        status, _, body = self.request("GET", f"/api/v1/cameras/{camera_id}")
        assert status == 200, body
        return body["streams"].get(stream, {})

    def wait_state(self, camera_id, state, timeout):
        return wait_for(
            lambda: (s := self.stream(camera_id)).get("state") == state and s,
            timeout, what=f"camera {camera_id} to be {state}")

    def catalog_rows(self):
        """Reads the recordings table directly from the SQLite catalog."""
        db = sqlite3.connect(os.path.join(self.data_dir, "catalog.db"),
                             timeout=10)
        try:
            return [dict(zip(("volume", "path", "start_us", "end_us",
                              "bytes", "sha256"), row)) for row in db.execute(
                "SELECT volume, path, start_us, end_us, bytes, sha256 "
                "FROM recordings ORDER BY start_us")]
        finally:
            db.close()


@contextlib.contextmanager
def workspace(name):
    """A temporary directory, removed afterwards; its logs are printed
    when the test fails."""
    path = tempfile.mkdtemp(prefix=f"vms-{name}-")
    ok = False
    try:
        yield path
        ok = True
    finally:
        # Processes a test started outside its own try block.
        for proc in list(_running):
            proc.stop()
        if not ok:
            for log in sorted(os.listdir(path)):
                if log.endswith(".log"):
                    with open(os.path.join(path, log), "rb") as f:
                        tail = f.read()[-6000:].decode(errors="replace")
                    print(f"--- {log} (tail) ---\n{tail}", file=sys.stderr)
        shutil.rmtree(path, ignore_errors=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def decode_errors(path):
    """Decodes every frame of path with FFmpeg (libavcodec) and returns
    its error output: empty when the file decodes cleanly."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
        capture_output=True, text=True, timeout=120)
    out = result.stderr.strip()
    if result.returncode != 0 and not out:
        out = f"ffmpeg exited with {result.returncode}"
    return out


def video_packets(path):
    """Returns [(pts seconds, duration seconds, is_key)] of the first
    video track."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0",
         "-show_entries", "packet=pts_time,duration_time,flags",
         "-of", "json", path], capture_output=True, text=True, timeout=120,
        check=True)
    packets = json.loads(result.stdout).get("packets", [])
    return [(float(p["pts_time"]), float(p.get("duration_time", 0)),
             "K" in p.get("flags", "")) for p in packets]


def first_frame_is_key(path):
    """Returns True if the first decoded video frame is a keyframe."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0",
         "-read_intervals", "%+#1", "-show_entries", "frame=key_frame",
         "-of", "json", path], capture_output=True, text=True, timeout=60,
        check=True)
    frames = json.loads(result.stdout).get("frames", [])
    return bool(frames) and frames[0].get("key_frame") == 1


class WebSocket:
    """A minimal RFC 6455 client for binary and text messages."""

    def __init__(self, host, port, path, timeout=10, api_key=None,
                 tls_context=None):
        """Opens path with the API key of the last Daemon started, or
        api_key; api_key="" sends no credential. With tls_context the
        connection is WSS."""
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls_context:
            self.sock = tls_context.wrap_socket(self.sock,
                                                server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        credential = API_KEY if api_key is None else api_key
        auth = (f"Authorization: Bearer {credential}\r\n"
                if credential else "")
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\n{auth}"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            .encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed during handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status:
            raise ConnectionError(f"handshake refused: {status!r}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def receive(self):
        """Returns (opcode, payload) of the next whole message."""
        message = b""
        opcode = None
        while True:
            b0, b1 = self._read(2)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            op = b0 & 0x0F
            if op == 0x9:  # ping: answer and keep reading
                self._send(0xA, payload)
                continue
            if op == 0x8:
                raise ConnectionError("server closed the WebSocket")
            if op != 0:
                opcode = op
            message += payload
            if b0 & 0x80:
                return opcode, message

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def close(self):
        try:
            self._send(0x8, b"")
        except OSError:
            pass
        self.sock.close()


def run(tests):
    """Runs test functions in order and exits non-zero if any failed."""
    failed = 0
    for test in tests:
        start = time.monotonic()
        try:
            test()
            print(f"ok   {test.__name__} ({time.monotonic() - start:.1f} s)")
        except Exception as err:  # report every failure, then go on
            failed += 1
            print(f"FAIL {test.__name__}: {err}")
            import traceback
            traceback.print_exc()
    sys.exit(1 if failed else 0)
