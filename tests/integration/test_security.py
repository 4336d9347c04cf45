"""Access control of the running daemon: every route of the route table
without a credential and as users with fewer rights, brute-force
throttling and lockout, the second factor over HTTP, and TLS. Hostile
requests are in test_hostile.py."""

import base64
import hashlib
import hmac
import http.client
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time

import vmstest
from vmstest import (SOURCE, VMSCTL, Daemon, FakeCamera, WebSocket, run,
                     wait_for, workspace)

ROUTE_TABLE = os.path.join(SOURCE, "src/auth/route.c")
PASSWORD = "long-enough-password-42"


def routes():
    """Returns (method, pattern, access) for every row of the route
    table in src/auth/route.c, so that a new route is walked too."""
    with open(ROUTE_TABLE) as f:
        text = f.read()
    table = text[text.index("auth_routes[] = {"):text.index("{NULL, NULL")]
    rows = re.findall(r'\{"([A-Z]+)", "([^"]+)",\s*([A-Z_]+)', table)
    assert len(rows) > 40, f"route table not parsed: {len(rows)} rows"
    return rows


def path_of(pattern, camera_id):
    return pattern.replace("{id}", str(camera_id)).replace("{name}", "p1")


def add_user(vmsd, name, role):
    """Creates a user with vmsctl on the data directory while vmsd
    runs, and signs it in; returns its session token."""
    pw_file = os.path.join(vmsd.workdir, name + ".pw")
    with open(pw_file, "w") as f:
        f.write(PASSWORD + "\n")
    result = subprocess.run(
        [VMSCTL, "user", "add", name, "--role", role, "--password-file",
         pw_file, "--data-dir", vmsd.data_dir],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, reply = vmsd.login(name, PASSWORD)
    assert status == 200, (name, status, reply)
    return reply["token"]


def as_user(token):
    return {"Authorization": "Bearer " + token}


def ws_status(vmsd, path, credential):
    """Returns the HTTP status of a WebSocket upgrade to path (101 when
    accepted)."""
    try:
        ws = WebSocket("127.0.0.1", vmsd.port, path, api_key=credential)
    except ConnectionError as err:
        match = re.search(r"HTTP/1\.[01] (\d+)", str(err))
        assert match, err
        return int(match.group(1))
    ws.close()
    return 101


def test_route_walk():
    with workspace("sec-routes") as tmp:
        camera = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            lobby = vmsd.add_camera("Lobby", camera.url)
            vault = vmsd.add_camera("Vault", "rtsp://127.0.0.1:9/x")
            vmsd.wait_state(lobby, "streaming", 20)
            status, _, role = vmsd.request("POST", "/api/v1/roles", {
                "name": "lobby-guard",
                "cameras": [{"camera_id": lobby,
                             "rights": ["live", "playback"]}]})
            assert status == 201, role
            guard = add_user(vmsd, "guard", "lobby-guard")
            viewer = add_user(vmsd, "val", "viewer")

            # Without a credential: 401 everywhere but the public routes.
            for method, pattern, access in routes():
                if access == "AUTH_ACCESS_PUBLIC":
                    continue
                path = path_of(pattern, lobby)
                body = {} if method in ("POST", "PUT", "PATCH") else None
                status, _, reply = vmsd.request(method, path, body,
                                                auth=False)
                assert status == 401, (method, path, status, reply)
                assert "sign in" in reply["error"], reply
            for path in (f"/api/v1/cameras/{lobby}/live",
                         f"/api/v1/live?streams={lobby}:main"):
                assert ws_status(vmsd, path, "") == 401, path

            # A viewer: 403 on every administrative route, and on the
            # rights a viewer lacks (configure, PTZ, export).
            for method, pattern, access in routes():
                if pattern.startswith("/api/v1/auth/"):
                    continue  # the viewer's own account and session
                path = path_of(pattern, lobby)
                body = {} if method in ("POST", "PUT", "PATCH") else None
                status, _, reply = vmsd.request(method, path, body,
                                                headers=as_user(viewer),
                                                raw=True)
                administrative = access == "GLOBAL"
                denied_camera = (
                    access in ("CAM", "AUTH_ACCESS_ALL_CAMERAS")
                    and method != "GET") or "/ptz/" in pattern or \
                    pattern.endswith("/time")
                if administrative or denied_camera:
                    assert status == 403, (method, path, status, reply)
            status, _, reply = vmsd.request(
                "POST", "/api/v1/holds",
                {"camera_id": lobby, "start_us": 1, "end_us": 2},
                headers=as_user(viewer))
            assert status == 403, reply
            # Watching a range is playback; saving it is an export.
            now_us = int(time.time() * 1e6)
            export = (f"/api/v1/cameras/{lobby}/playback.mp4?from="
                      f"{now_us - 60_000_000}&to={now_us}&download=1")
            status, _, reply = vmsd.request("GET", export,
                                            headers=as_user(viewer))
            assert status == 403, reply
            assert "export" in reply["error"], reply
            status, headers, _ = vmsd.request("GET", export, raw=True)
            assert status in (200, 404), status  # 404: nothing recorded
            if status == 200:
                assert headers["content-disposition"].startswith(
                    "attachment"), headers

            # A user with rights on the lobby camera only: the vault
            # camera is closed on every camera route, the WebSocket,
            # snapshots, recordings and exports included.
            for method, pattern, access in routes():
                if access != "CAM":
                    continue
                path = path_of(pattern, vault)
                body = {} if method in ("POST", "PUT", "PATCH") else None
                status, _, reply = vmsd.request(method, path, body,
                                                headers=as_user(guard),
                                                raw=True)
                assert status == 403, (method, path, status, reply)
            assert ws_status(vmsd, f"/api/v1/cameras/{vault}/live",
                             guard) == 403
            assert ws_status(vmsd, f"/api/v1/live?streams={lobby}:main,"
                                   f"{vault}:main", guard) == 403
            assert ws_status(vmsd, f"/api/v1/cameras/{lobby}/live",
                             guard) == 101
            status, _, cams = vmsd.request("GET", "/api/v1/cameras",
                                           headers=as_user(guard))
            assert status == 200
            assert [c["id"] for c in cams] == [lobby], cams
            status, _, _ = vmsd.request(
                "GET", f"/api/v1/cameras/{lobby}/snapshot.jpg",
                headers=as_user(guard), raw=True)
            assert status in (200, 404), status  # 404 before a keyframe

            # Signing out closes the user's live streams within seconds.
            ws = WebSocket("127.0.0.1", vmsd.port,
                           f"/api/v1/cameras/{lobby}/live", api_key=guard)
            status, _, _ = vmsd.request("POST", "/api/v1/auth/logout", {},
                                        headers=as_user(guard))
            assert status == 204, status
            closed_after = None
            start = time.monotonic()
            try:
                while time.monotonic() - start < 15:
                    ws.receive()
            except TimeoutError:
                pass  # a silent stream is not a closed one
            except (ConnectionError, OSError):
                closed_after = time.monotonic() - start
            finally:
                ws.sock.close()
            assert closed_after is not None and closed_after < 8, \
                f"live stream still open {time.monotonic() - start:.1f} s " \
                f"after logout"

            # Refusals are audited.
            status, _, reply = vmsd.request(
                "GET", "/api/v1/audit?action=access.denied&limit=1000")
            assert status == 200, reply
            actors = {e["actor"] for e in reply["entries"]}
            assert {"guard", "val"} <= actors, actors
        finally:
            vmsd.stop()
            camera.stop()


def login_from(vmsd, address, user, password):
    """POSTs a login from the loopback address `address`; returns
    (status, headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", vmsd.port, timeout=60,
                                      source_address=(address, 0))
    try:
        body = ('{"username": "%s", "password": "%s"}' % (user, password))
        conn.request("POST", "/api/v1/auth/login", body,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


class Prober:
    """Measures another user's request latency on a thread while an
    attack runs."""

    def __init__(self, vmsd, token):
        self.vmsd = vmsd
        self.token = token
        self.worst = 0.0
        self.errors = []
        self.count = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        while not self.done.is_set():
            start = time.monotonic()
            status, _, _ = self.vmsd.request("GET", "/api/v1/auth/me",
                                             headers=as_user(self.token))
            if status != 200:
                self.errors.append(status)
            self.worst = max(self.worst, time.monotonic() - start)
            self.count += 1
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def test_brute_force():
    lockout_s = 6
    conf = (f"login_account_lockout = 10\nlogin_address_lockout = 50\n"
            f"login_lockout_seconds = {lockout_s}\nlogin_delay_ms = 50\n"
            f"login_delay_max_ms = 400\n")
    with workspace("sec-brute") as tmp:
        vmsd = Daemon(tmp, extra_conf=conf)
        try:
            other = add_user(vmsd, "other", "viewer")
            add_user(vmsd, "victim", "viewer")
            add_user(vmsd, "victim2", "viewer")

            # 1000 wrong passwords from one address.
            statuses = {}
            with Prober(vmsd, other) as probe:
                start = time.monotonic()
                for i in range(1000):
                    status, headers, text = login_from(
                        vmsd, "127.0.0.1", "victim", f"wrong-{i}")
                    statuses[status] = statuses.get(status, 0) + 1
                    assert status in (401, 429), (status, text)
                    if status == 429:
                        assert int(headers["Retry-After"]) >= 1, headers
                elapsed = time.monotonic() - start
            # Each lockout window lets at most the 10 failures of the
            # account limit reach the password check.
            windows = int(elapsed / lockout_s) + 1
            assert statuses.get(401, 0) <= 10 * windows, (statuses, elapsed)
            assert statuses.get(429, 0) >= 1000 - 10 * windows, statuses
            assert probe.count > 10, probe.count
            assert not probe.errors, probe.errors
            assert probe.worst < 2.0, f"other user waited {probe.worst} s"
            print(f"one address: {statuses} in {elapsed:.1f} s, other "
                  f"user's slowest request {probe.worst * 1000:.0f} ms")

            # Locked: the right password is refused too, from anywhere.
            status, _, _ = login_from(vmsd, "127.0.0.9", "victim", PASSWORD)
            assert status == 429, status
            # Other accounts from other addresses still sign in.
            status, _, _ = login_from(vmsd, "127.0.0.8", "other", PASSWORD)
            assert status == 200, status

            # After the lockout the right password works.
            time.sleep(lockout_s + 0.5)
            wait_for(lambda: login_from(vmsd, "127.0.0.9", "victim",
                                        PASSWORD)[0] == 200,
                     lockout_s * 2, interval=1,
                     what="the lockout of victim to end")

            # 1000 wrong passwords from 200 addresses: the account limit
            # still holds.
            statuses = {}
            start = time.monotonic()
            for i in range(1000):
                address = f"127.0.{1 + i // 200}.{2 + i % 200}"
                status, _, _ = login_from(vmsd, address, "victim2",
                                          f"wrong-{i}")
                statuses[status] = statuses.get(status, 0) + 1
            elapsed = time.monotonic() - start
            windows = int(elapsed / lockout_s) + 1
            assert statuses.get(200, 0) == 0, statuses
            assert statuses.get(401, 0) <= 10 * windows, (statuses, elapsed)
            print(f"200 addresses: {statuses} in {elapsed:.1f} s")

            # An unknown account gets exactly the responses of a known one.
            seen = []
            for user in ("victim3-does-not-exist", "other"):
                seq = [login_from(vmsd, "127.0.7.1" if user == "other"
                                  else "127.0.7.2", user, "wrong")[::2]
                       for _ in range(5)]
                seen.append(seq)
            assert seen[0] == seen[1], seen

            # Every attempt is in the audit log.
            status, _, reply = vmsd.request(
                "GET", "/api/v1/audit?action=login.&limit=1000")
            assert status == 200, reply
            assert len(reply["entries"]) == 1000, len(reply["entries"])
            assert reply["truncated"], reply["truncated"]
        finally:
            vmsd.stop()


def totp(secret, t=None):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if t is None else t) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1000000:06d}"


def test_totp_over_http():
    with workspace("sec-totp") as tmp:
        vmsd = Daemon(tmp)
        try:
            token = add_user(vmsd, "otto", "operator")
            status, _, enrol = vmsd.request("POST", "/api/v1/auth/totp/enrol",
                                            {}, headers=as_user(token))
            assert status == 200, enrol
            assert enrol["qr_svg"].startswith("<svg") or \
                "<svg" in enrol["qr_svg"][:200], enrol["qr_svg"][:80]
            secret = enrol["secret"]
            status, _, reply = vmsd.request(
                "POST", "/api/v1/auth/totp/confirm",
                {"code": totp(secret, time.time() - 3600)},
                headers=as_user(token))
            assert status == 400, reply
            status, _, reply = vmsd.request(
                "POST", "/api/v1/auth/totp/confirm", {"code": totp(secret)},
                headers=as_user(token))
            assert status == 200, reply
            recovery = reply["recovery_codes"]
            assert len(recovery) == 10

            # Password alone is no longer enough.
            status, reply = vmsd.login("otto", PASSWORD)
            assert status == 401, reply
            assert reply.get("totp_required"), reply
            # A code from the wrong time step is refused.
            status, reply = vmsd.login("otto", PASSWORD,
                                       totp(secret, time.time() - 300))
            assert status == 401, reply
            assert not reply.get("token"), reply
            # Wait for a fresh step: the confirmation used this one.
            step = int(time.time() // 30)
            wait_for(lambda: int(time.time() // 30) > step, 31,
                     what="the next TOTP time step")
            code = totp(secret)
            status, reply = vmsd.login("otto", PASSWORD, code)
            assert status == 200, reply
            assert reply["token"], reply
            # The same code a second time is refused.
            status, reply = vmsd.login("otto", PASSWORD, code)
            assert status == 401, reply
            # A recovery code works once.
            status, reply = vmsd.login("otto", PASSWORD, recovery[0])
            assert status == 200, reply
            status, reply = vmsd.login("otto", PASSWORD, recovery[0])
            assert status == 401, reply
        finally:
            vmsd.stop()


def test_tls():
    with workspace("sec-tls") as tmp:
        tls_dir = os.path.join(tmp, "tls")
        result = subprocess.run(
            [VMSCTL, "tls", "init", "--dir", tls_dir, "--name", "localhost",
             "--name", "127.0.0.1"], capture_output=True, text=True,
            timeout=60)
        assert result.returncode == 0, result.stderr
        verify = subprocess.run(
            ["openssl", "verify", "-CAfile", os.path.join(tls_dir, "ca.pem"),
             os.path.join(tls_dir, "server.pem")],
            capture_output=True, text=True, timeout=30)
        assert verify.returncode == 0, verify.stdout + verify.stderr

        # No TLS: a non-loopback listen address is refused at start.
        conf = os.path.join(tmp, "plain.conf")
        with open(conf, "w") as f:
            f.write(f"listen = 0.0.0.0:{vmstest.free_port()}\n"
                    f"data_dir = {tmp}/plain\n")
        result = subprocess.run([vmstest.VMSD, "-c", conf],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, result
        assert "tls_cert" in result.stderr, result.stderr

        # With TLS: HTTPS with the generated certificate and HSTS.
        camera = FakeCamera(tmp)
        vmsd = Daemon(tmp, tls_dir=tls_dir)
        try:
            # Live video over WSS.
            cid = vmsd.add_camera("Gate", camera.url)
            vmsd.wait_state(cid, "streaming", 20)
            ws = WebSocket("127.0.0.1", vmsd.port,
                           f"/api/v1/cameras/{cid}/live",
                           tls_context=vmsd.tls_context)
            try:
                kinds = {ws.receive()[0] for _ in range(3)}
            finally:
                ws.close()
            assert 2 in kinds, f"no binary fragment over WSS: {kinds}"

            status, headers, _ = vmsd.request("GET", "/api/v1/status")
            assert status == 200, status
            assert "max-age" in headers["strict-transport-security"], headers
            assert "frame-ancestors 'none'" in \
                headers["content-security-policy"], headers
            assert headers["referrer-policy"] == "no-referrer", headers
            # The session cookie is Secure with the __Host- prefix.
            status, headers, _ = vmsd.request(
                "POST", "/api/v1/auth/login",
                {"username": vmstest.ADMIN_USER,
                 "password": vmstest.ADMIN_PASSWORD}, auth=False)
            assert status == 200, status
            cookie = headers["set-cookie"]
            assert cookie.startswith("__Host-"), cookie
            assert "Secure" in cookie, cookie
            # Plain HTTP on the TLS port gets no HTTP response.
            conn = http.client.HTTPConnection("127.0.0.1", vmsd.port,
                                              timeout=10)
            try:
                conn.request("GET", "/api/v1/health")
                plain = conn.getresponse().status
            except (OSError, http.client.HTTPException):
                plain = None
            finally:
                conn.close()
            assert plain != 200, plain
            # TLS 1.1 is refused.
            old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            old.load_verify_locations(os.path.join(tls_dir, "ca.pem"))
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            try:
                with socket.create_connection(("127.0.0.1", vmsd.port),
                                              timeout=10) as raw:
                    with old.wrap_socket(raw, server_hostname="127.0.0.1"):
                        accepted = True
            except (ssl.SSLError, OSError):
                accepted = False
            assert not accepted, "TLS 1.1 handshake accepted"
            # vmsctl talks HTTPS with the site CA.
            result = subprocess.run(
                [VMSCTL, "--url", vmsd.base, "--ca-file",
                 os.path.join(tls_dir, "ca.pem"), "status"],
                capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
        finally:
            vmsd.stop()
            camera.stop()


if __name__ == "__main__":
    run([test_route_walk, test_brute_force, test_totp_over_http, test_tls])
