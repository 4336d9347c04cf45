"""vmsctl's commands that work without the daemon's API. user, key and
audit run on a data directory before any administrator exists and
while vmsd runs on it. tls init and import are checked with the openssl
tool. https:// URLs are tested against `openssl s_server` on loopback
with a certificate from `vmsctl tls init`."""

import json
import os
import pty
import re
import select
import sqlite3
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request

from vmstest import (BUILD, SOURCE, VMSD, Process, free_port, run,
                     wait_for, workspace)

VMSCTL = os.environ.get("VMSCTL", os.path.join(BUILD, "src/vmsctl/vmsctl"))
PASSWORD = "correct horse battery staple"


def vmsctl(*args, stdin=None, env=None, timeout=120):
    """Runs vmsctl without the VMS_* variables of the caller; returns the
    CompletedProcess with text output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VMS_")}
    clean.update(env or {})
    return subprocess.run([VMSCTL, *args], input=stdin, capture_output=True,
                          text=True, env=clean, timeout=timeout)


def describe(result):
    return (f"exit {result.returncode}\nstdout:\n{result.stdout}\n"
            f"stderr:\n{result.stderr}")


def table_rows(text):
    """Splits a vmsctl table into dicts keyed by its header, cutting each
    line where the header's columns start."""
    lines = text.rstrip("\n").splitlines()
    header = lines[0].split()
    starts = [lines[0].index(name) for name in header]
    ends = starts[1:] + [None]
    return [{name: line[start:end].strip()
             for name, start, end in zip(header, starts, ends)}
            for line in lines[1:]]


def write_file(path, text, mode=0o600):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode),
              "w") as f:
        f.write(text)
    return path


def make_data_dir(tmp):
    data = os.path.join(tmp, "data")
    os.mkdir(data, 0o750)
    return data


def test_users_offline():
    with workspace("vmsctl-admin") as tmp:
        data = make_data_dir(tmp)
        good = write_file(os.path.join(tmp, "pw"), PASSWORD + "\n")
        short = write_file(os.path.join(tmp, "short"), "tooshort\n")

        empty = vmsctl("user", "list", "--data-dir", data)
        assert empty.returncode == 0, describe(empty)
        assert "create the first administrator" in empty.stderr, \
            describe(empty)

        added = vmsctl("user", "add", "alice", "--admin", "--password-file",
                       good, "--data-dir", data)
        assert added.returncode == 0, describe(added)
        assert "user alice created" in added.stdout, describe(added)
        assert "role administrator" in added.stdout, describe(added)

        # The audit key is created with the catalog, readable only by
        # its owner.
        key = os.stat(os.path.join(data, "audit.key"))
        assert stat.S_IMODE(key.st_mode) == 0o600, oct(key.st_mode)
        assert key.st_size == 32, key.st_size
        catalog = os.stat(os.path.join(data, "catalog.db"))
        assert not catalog.st_mode & stat.S_IROTH, oct(catalog.st_mode)

        rejected = vmsctl("user", "add", "bob", "--password-file", short,
                          "--data-dir", data)
        assert rejected.returncode == 1, describe(rejected)
        assert "password too short" in rejected.stderr, describe(rejected)
        assert "at least 12" in rejected.stderr, describe(rejected)

        # Standard input that is not a terminal gives one line.
        conf = write_file(os.path.join(tmp, "vms.conf"),
                          f"data_dir = {data}\n", 0o644)
        piped = vmsctl("-c", conf, "user", "add", "carol", "--role",
                       "operator", stdin="another good password\n")
        assert piped.returncode == 0, describe(piped)
        assert "role operator" in piped.stdout, describe(piped)

        listed = vmsctl("user", "list", env={"VMS_DATA_DIR": data})
        assert listed.returncode == 0, describe(listed)
        rows = {r["NAME"]: r for r in table_rows(listed.stdout)}
        assert sorted(rows) == ["alice", "carol"], listed.stdout
        assert rows["alice"]["ROLE"] == "administrator", rows
        assert rows["alice"]["STATE"] == "enabled", rows
        assert rows["alice"]["SOURCE"] == "local", rows
        assert rows["carol"]["ROLE"] == "operator", rows

        for args, code, words in [
            (["user", "add", "alice", "--password-file", good], 1,
             "already exists"),
            (["user", "rm", "alice"], 1, "last administrator"),
            (["user", "disable", "alice"], 1, "last administrator"),
            (["user", "role", "carol", "boss"], 1, "role 'boss' not found"),
            (["user", "passwd", "nobody", "--password-file", good], 1,
             "user 'nobody' not found"),
            (["user", "add", "dave", "--admin", "--role", "viewer"], 2,
             "not both"),
            (["user", "list", "--admin"], 2, "does not apply"),
            (["user", "fly"], 2, "unknown command 'fly'"),
        ]:
            result = vmsctl(*args, "--data-dir", data)
            assert result.returncode == code, (args, describe(result))
            assert words in result.stderr, (args, describe(result))

        changes = [
            (["user", "passwd", "carol", "--password-file", good],
             "password of user carol changed"),
            (["user", "disable", "carol"], "user carol disabled"),
            (["user", "enable", "carol"], "user carol enabled"),
            (["user", "role", "carol", "viewer"], "role viewer"),
            (["user", "totp-reset", "carol"], "second factor"),
            (["user", "rm", "carol"], "user carol deleted"),
        ]
        for args, words in changes:
            result = vmsctl(*args, "--data-dir", data)
            assert result.returncode == 0, (args, describe(result))
            assert words in result.stdout, (args, describe(result))

        missing = vmsctl("user", "list")
        assert missing.returncode == 2, describe(missing)
        assert "missing data directory" in missing.stderr, describe(missing)
        absent = vmsctl("user", "list", "--data-dir",
                        os.path.join(tmp, "absent"))
        assert absent.returncode == 1, describe(absent)
        assert "No such file or directory" in absent.stderr, describe(absent)

        os.chmod(os.path.join(data, "audit.key"), 0o644)
        loose = vmsctl("user", "list", "--data-dir", data)
        assert loose.returncode == 1, describe(loose)
        assert "chmod 600" in loose.stderr, describe(loose)
        assert "audit.key" in loose.stderr, describe(loose)


class Terminal:
    """vmsctl with a pseudo-terminal as standard input, output and error,
    the way an administrator runs it."""

    def __init__(self, args, env):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([VMSCTL, *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.screen = b""

    def read_until(self, text, timeout=60):
        """Reads the terminal until text appears; returns the screen."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} on the terminal: "
                                     f"{self.screen!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: vmsctl closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"terminal closed before {text!r}: "
                                     f"{self.screen!r}")
            self.screen += chunk
        return self.screen.decode(errors="replace")

    def type(self, line):
        os.write(self.master, line.encode() + b"\n")

    def finish(self, timeout=60):
        """Waits for vmsctl to exit; returns its status and the screen."""
        status = self.proc.wait(timeout)
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.screen += chunk
        os.close(self.master)
        return status, self.screen.decode(errors="replace")


def test_password_prompt_on_terminal():
    with workspace("vmsctl-admin") as tmp:
        data = make_data_dir(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VMS_")}
        env["VMS_DATA_DIR"] = data

        term = Terminal(["user", "add", "alice", "--admin"], env)
        term.read_until("Enter the new password: ")
        term.type(PASSWORD)
        term.read_until("Enter the new password again: ")
        term.type(PASSWORD)
        status, screen = term.finish()
        assert status == 0, screen
        assert "user alice created" in screen, screen
        # Echo was off while the password was typed.
        assert PASSWORD not in screen, screen

        term = Terminal(["user", "passwd", "alice"], env)
        term.read_until("Enter the new password: ")
        term.type(PASSWORD + " one")
        term.read_until("Enter the new password again: ")
        term.type(PASSWORD + " two")
        status, screen = term.finish()
        assert status == 1, screen
        assert "the two passwords differ" in screen, screen
        assert PASSWORD not in screen, screen

        # No password change reached the audit log: nothing was changed.
        listed = vmsctl("audit", "list", "--action", "user.password",
                        "--data-dir", data)
        assert listed.returncode == 0, describe(listed)
        assert table_rows(listed.stdout) == [], describe(listed)


def test_api_keys_offline():
    with workspace("vmsctl-admin") as tmp:
        data = make_data_dir(tmp)
        good = write_file(os.path.join(tmp, "pw"), PASSWORD + "\n")
        added = vmsctl("user", "add", "alice", "--admin", "--password-file",
                       good, "--data-dir", data)
        assert added.returncode == 0, describe(added)

        created = vmsctl("key", "add", "--user", "alice", "--name", "backup",
                         "--scope", "live,playback", "--expires-days", "30",
                         "--data-dir", data)
        assert created.returncode == 0, describe(created)
        # Only the key, on its own line, goes to standard output.
        assert re.fullmatch(r"vmsk_[A-Za-z0-9_-]{43}\n", created.stdout), \
            describe(created)
        assert "shown only this once" in created.stderr, describe(created)
        assert created.stdout.strip() not in created.stderr

        second = vmsctl("key", "add", "--user", "alice", "--name", "all",
                        "--data-dir", data)
        assert second.returncode == 0, describe(second)
        assert second.stdout != created.stdout

        listed = vmsctl("key", "list", "--data-dir", data)
        assert listed.returncode == 0, describe(listed)
        rows = table_rows(listed.stdout)
        assert [r["NAME"] for r in rows] == ["backup", "all"], listed.stdout
        assert rows[0]["SCOPE"] == "live,playback", rows
        assert rows[0]["EXPIRES"] != "never", rows
        assert rows[1]["SCOPE"] == "all", rows
        assert rows[1]["EXPIRES"] == "never", rows
        assert all(r["STATE"] == "active" for r in rows), rows
        assert "vmsk_" not in listed.stdout

        revoked = vmsctl("key", "revoke", rows[0]["ID"], "--data-dir", data)
        assert revoked.returncode == 0, describe(revoked)
        listed = vmsctl("key", "list", "--user", "alice", "--data-dir", data)
        rows = table_rows(listed.stdout)
        assert rows[0]["STATE"] == "revoked", rows
        assert rows[1]["STATE"] == "active", rows

        for args, code, words in [
            (["key", "add", "--user", "alice", "--name", "x", "--scope",
              "live,fly"], 2, "invalid --scope 'live,fly'"),
            (["key", "add", "--user", "alice"], 2, "missing --name"),
            (["key", "add", "--user", "alice", "--name", "x",
              "--expires-days", "0"], 2, "invalid --expires-days"),
            (["key", "add", "--user", "nobody", "--name", "x"], 1,
             "user 'nobody' not found"),
            (["key", "revoke", "99"], 1, "API key 99 not found"),
            (["key", "revoke", "abc"], 2, "invalid key ID 'abc'"),
        ]:
            result = vmsctl(*args, "--data-dir", data)
            assert result.returncode == code, (args, describe(result))
            assert words in result.stderr, (args, describe(result))


def test_audit_offline():
    with workspace("vmsctl-admin") as tmp:
        data = make_data_dir(tmp)
        good = write_file(os.path.join(tmp, "pw"), PASSWORD + "\n")
        for name, role in [("alice", "--admin"), ("bob", "--role=viewer")]:
            added = vmsctl("user", "add", name, role, "--password-file",
                           good, "--data-dir", data)
            assert added.returncode == 0, describe(added)
        key = vmsctl("key", "add", "--user", "bob", "--name", "feed",
                     "--data-dir", data)
        assert key.returncode == 0, describe(key)

        verified = vmsctl("audit", "verify", "--data-dir", data)
        assert verified.returncode == 0, describe(verified)
        assert verified.stdout.strip() == "3 entries, chain intact", \
            describe(verified)

        listed = vmsctl("audit", "list", "--action", "user.", "--data-dir",
                        data)
        assert listed.returncode == 0, describe(listed)
        rows = table_rows(listed.stdout)
        assert [r["ACTION"] for r in rows] == ["user.create"] * 2, rows
        assert [r["TARGET"] for r in rows] == ["alice", "bob"], rows
        assert all(r["ACTOR"] == "vmsctl" for r in rows), rows
        limited = vmsctl("audit", "list", "--limit", "1", "--from", "-1h",
                         "--data-dir", data)
        assert len(table_rows(limited.stdout)) == 1, describe(limited)
        none = vmsctl("audit", "list", "--actor", "mallory", "--data-dir",
                      data)
        assert table_rows(none.stdout) == [], describe(none)

        out = os.path.join(tmp, "audit.jsonl")
        exported = vmsctl("audit", "export", "-o", out, "--data-dir", data)
        assert exported.returncode == 0, describe(exported)
        with open(out) as f:
            entries = [json.loads(line) for line in f]
        assert [e["seq"] for e in entries] == [1, 2, 3], entries
        assert entries[2]["action"] == "apikey.create", entries
        assert entries[1]["prev_hash"] == entries[0]["hash"], entries
        streamed = vmsctl("audit", "export", "--action", "apikey.",
                          "--data-dir", data)
        assert len(streamed.stdout.splitlines()) == 1, describe(streamed)

        # Someone with write access to the database edits a row.
        db = sqlite3.connect(os.path.join(data, "catalog.db"), timeout=10)
        try:
            db.execute("UPDATE auth_audit SET detail = 'viewer' "
                       "WHERE seq = 1")
            db.commit()
        finally:
            db.close()
        broken = vmsctl("audit", "verify", "--data-dir", data)
        assert broken.returncode == 1, describe(broken)
        assert "seq 1" in broken.stdout, describe(broken)
        assert "was edited" in broken.stdout, describe(broken)


def https_request(url, ca, method="GET", body=None):
    """Sends a request over TLS, verified against the CA file ca; returns
    (status, parsed JSON body)."""
    context = ssl.create_default_context(cafile=ca)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60, context=context) as r:
            payload = r.read()
            status = r.status
    except urllib.error.HTTPError as err:
        payload = err.read()
        status = err.code
    return status, json.loads(payload) if payload else None


def test_daemon_over_https():
    """vmsd serves HTTPS with the certificate of `vmsctl tls init`, and
    its first administrator and API key come from vmsctl on the data
    directory while it runs."""
    with workspace("vmsctl-admin") as tmp:
        tls = os.path.join(tmp, "tls")
        created = vmsctl("tls", "init", "--dir", tls, "--name", "127.0.0.1")
        assert created.returncode == 0, describe(created)
        ca = os.path.join(tls, "ca.pem")
        data = os.path.join(tmp, "data")
        port = free_port()
        conf = write_file(
            os.path.join(tmp, "vms.conf"),
            f"listen = 127.0.0.1:{port}\n"
            f"data_dir = {data}\n"
            f"volume = {os.path.join(data, 'video')}\n"
            f"web_root = {os.path.join(SOURCE, 'web')}\n"
            f"tls_cert = {os.path.join(tls, 'server.pem')}\n"
            f"tls_key = {os.path.join(tls, 'server.key')}\n"
            f"log_level = debug\n", 0o644)
        url = f"https://127.0.0.1:{port}"
        vmsd = Process([VMSD, "-c", conf], os.path.join(tmp, "vmsd.log"))
        try:
            wait_for(lambda: not vmsd.alive() or
                     https_request(url + "/api/v1/health", ca)[0] == 200,
                     20, what="vmsd to serve HTTPS")
            assert vmsd.alive(), vmsd.output()
            assert "setup token" in vmsd.output(), vmsd.output()

            good = write_file(os.path.join(tmp, "pw"), PASSWORD + "\n")
            added = vmsctl("-c", conf, "user", "add", "alice", "--admin",
                           "--password-file", good)
            assert added.returncode == 0, describe(added)
            key = vmsctl("key", "add", "--user", "alice", "--name", "cli",
                         "--config", conf)
            assert key.returncode == 0, describe(key)
            key_file = write_file(os.path.join(tmp, "api.key"), key.stdout)

            shown = vmsctl("--url", url, "--ca-file", ca, "--api-key-file",
                           key_file, "status", "--json")
            assert shown.returncode == 0, describe(shown)
            assert "recorder" in json.loads(shown.stdout), describe(shown)
            anonymous = vmsctl("--url", url, "--ca-file", ca, "status")
            assert anonymous.returncode == 1, describe(anonymous)
            assert "(HTTP 401)" in anonymous.stderr, describe(anonymous)
            untrusted = vmsctl("--url", url, "--api-key-file", key_file,
                               "status")
            assert untrusted.returncode == 1, describe(untrusted)
            assert "certificate verification failed" in untrusted.stderr, \
                describe(untrusted)

            # The daemon appends its own rows to the chain, keyed with the
            # audit.key that vmsctl reads too.
            status, reply = https_request(
                url + "/api/v1/auth/login", ca, "POST",
                {"username": "alice", "password": PASSWORD, "bearer": True})
            assert status == 200, (status, reply)
            logins = vmsctl("audit", "list", "--action", "login.",
                            "-c", conf)
            rows = table_rows(logins.stdout)
            assert [r["ACTOR"] for r in rows] == ["alice"], logins.stdout
            assert rows[0]["ACTION"] == "login.success", rows
            verified = vmsctl("audit", "verify", "-c", conf)
            assert verified.returncode == 0, describe(verified)
            assert "chain intact" in verified.stdout, describe(verified)
            assert vmsd.alive(), vmsd.output()
        finally:
            assert vmsd.stop() == 0, vmsd.output()


def san_of(cert):
    result = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                             "-ext", "subjectAltName"], capture_output=True,
                            text=True, timeout=30, check=True)
    return result.stdout


def test_tls_init_and_import():
    with workspace("vmsctl-admin") as tmp:
        tls = os.path.join(tmp, "tls")
        created = vmsctl("tls", "init", "--dir", tls)
        assert created.returncode == 0, describe(created)
        ca = os.path.join(tls, "ca.pem")
        cert = os.path.join(tls, "server.pem")
        key = os.path.join(tls, "server.key")
        command = f"openssl verify -CAfile {ca} {cert}"
        assert command in created.stdout, describe(created)
        for path in (ca, os.path.join(tls, "ca.key"), cert, key):
            assert path in created.stdout, describe(created)

        checked = subprocess.run(command.split(), capture_output=True,
                                 text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.strip() == f"{cert}: OK", checked.stdout
        names = san_of(cert)
        assert "IP Address:127.0.0.1" in names, names
        assert "DNS:localhost" in names, names
        for private in ("ca.key", "server.key"):
            mode = os.stat(os.path.join(tls, private)).st_mode
            assert stat.S_IMODE(mode) == 0o600, (private, oct(mode))

        # A second init keeps the CA and issues for the given names.
        again = vmsctl("tls", "init", "--dir", tls, "--name", "vms.test",
                       "--name", "192.0.2.7")
        assert again.returncode == 0, describe(again)
        assert "existing, kept" in again.stdout, describe(again)
        names = san_of(cert)
        assert "DNS:vms.test" in names, names
        assert "IP Address:192.0.2.7" in names, names
        assert "localhost" not in names, names

        installed = os.path.join(tmp, "installed")
        imported = vmsctl("tls", "import", "--cert", cert, "--key", key,
                          "--ca", ca, "--dir", installed)
        assert imported.returncode == 0, describe(imported)
        with open(os.path.join(installed, "server.pem")) as a, \
                open(cert) as b:
            assert a.read() == b.read()
        mode = os.stat(os.path.join(installed, "server.key")).st_mode
        assert stat.S_IMODE(mode) == 0o600, oct(mode)

        other = os.path.join(tmp, "other")
        mismatched = vmsctl("tls", "import", "--cert", cert, "--key",
                            os.path.join(tls, "ca.key"), "--ca", ca, "--dir",
                            other)
        assert mismatched.returncode == 1, describe(mismatched)
        assert "private key does not match the certificate" in \
            mismatched.stderr, describe(mismatched)
        assert not os.path.exists(other), "a rejected import made --dir"

        bad_name = vmsctl("tls", "init", "--dir", tls, "--name", "bad name")
        assert bad_name.returncode == 1, describe(bad_name)
        assert "bad name" in bad_name.stderr, describe(bad_name)
        no_dir = vmsctl("tls", "init")
        assert no_dir.returncode == 2, describe(no_dir)
        assert "missing --dir" in no_dir.stderr, describe(no_dir)


class TlsServer(Process):
    """`openssl s_server -WWW` on a free loopback port: it serves the
    files under root over TLS. Stopped by PID."""

    def __init__(self, tmp, root, cert, key, extra=()):
        # Process starts in the caller's directory, and s_server -WWW
        # serves paths relative to its own, so the child is started
        # here with cwd=root.
        self.port = free_port()
        self.args = ["openssl", "s_server", "-accept",
                     f"127.0.0.1:{self.port}", "-cert", cert, "-key", key,
                     "-WWW", *extra]
        self.log_path = os.path.join(tmp, f"s_server-{self.port}.log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, cwd=root,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: "ACCEPT" in self.output() or not self.alive(), 10,
                 what="openssl s_server to listen")
        if not self.alive():
            raise AssertionError("s_server exited:\n" + self.output())


def test_https_client():
    with workspace("vmsctl-admin") as tmp:
        tls = os.path.join(tmp, "tls")
        created = vmsctl("tls", "init", "--dir", tls, "--name", "127.0.0.1")
        assert created.returncode == 0, describe(created)
        ca = os.path.join(tls, "ca.pem")
        cert = os.path.join(tls, "server.pem")
        key = os.path.join(tls, "server.key")
        status = {"version": "https-test", "recorder": {"segments": 7}}
        os.makedirs(os.path.join(tmp, "api/v1"))
        with open(os.path.join(tmp, "api/v1/status"), "w") as f:
            json.dump(status, f)

        server = TlsServer(tmp, tmp, cert, key)
        try:
            url = f"https://127.0.0.1:{server.port}"
            ok = vmsctl("--url", url, "--ca-file", ca, "status", "--json")
            assert ok.returncode == 0, describe(ok)
            assert json.loads(ok.stdout) == status, describe(ok)
            from_env = vmsctl("--url", url, "status", "--json",
                              env={"VMS_CA_FILE": ca})
            assert from_env.returncode == 0, describe(from_env)

            untrusted = vmsctl("--url", url, "status", "--json")
            assert untrusted.returncode == 1, describe(untrusted)
            assert f"certificate verification failed for {url}" in \
                untrusted.stderr, describe(untrusted)
            assert "--ca-file" in untrusted.stderr, describe(untrusted)

            # The certificate names 127.0.0.1 only.
            wrong_host = f"https://localhost:{server.port}"
            misnamed = vmsctl("--url", wrong_host, "--ca-file", ca, "status",
                              "--json")
            assert misnamed.returncode == 1, describe(misnamed)
            assert f"verification failed for {wrong_host}" in \
                misnamed.stderr, describe(misnamed)
            assert "not issued for host 'localhost'" in misnamed.stderr, \
                describe(misnamed)

            missing_ca = vmsctl("--url", url, "--ca-file",
                                os.path.join(tmp, "none.pem"), "status")
            assert missing_ca.returncode == 1, describe(missing_ca)
            assert "cannot load CA file" in missing_ca.stderr, \
                describe(missing_ca)

            plain = vmsctl("--url", f"http://127.0.0.1:{server.port}",
                           "status", "--json", timeout=30)
            assert plain.returncode == 1, describe(plain)
        finally:
            server.stop()

        # A server limited to TLS 1.1 is rejected: the minimum is 1.2.
        old = TlsServer(tmp, tmp, cert, key,
                        extra=["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        try:
            refused = vmsctl("--url", f"https://127.0.0.1:{old.port}",
                             "--ca-file", ca, "status", "--json")
            assert refused.returncode == 1, describe(refused)
            assert "no TLS version from 1.2 on" in refused.stderr, \
                describe(refused)
        finally:
            old.stop()


if __name__ == "__main__":
    run([test_users_offline, test_password_prompt_on_terminal,
         test_api_keys_offline, test_audit_offline,
         test_daemon_over_https, test_tls_init_and_import,
         test_https_client])
