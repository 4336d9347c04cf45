"""Directory login through the real daemon. Each test starts slapd
(OpenLDAP, installed by scripts/install-auth-deps.sh) as the current
user on free loopback ports, with a certificate from `vmsctl tls init`
and its configuration and data in the test's temporary directory. The
packaged schema files under /etc/ldap/schema are only read. slapd is
stopped by its PID."""

import os
import socket
import subprocess

from vmstest import (ADMIN_PASSWORD, ADMIN_USER, VMSCTL, VMSD, Daemon,
                     Process, free_port, run, wait_for, workspace)

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA = "/etc/ldap/schema"
BASE = "dc=example,dc=org"
ADMINS = f"cn=vms-admins,ou=groups,{BASE}"
OPERATORS = f"cn=vms-operators,ou=groups,{BASE}"
PASSWORDS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw",
             "carol": "carol-secret-pw"}
READER_PASSWORD = "reader-secret-pw"
# The body of every 401 from POST /api/v1/auth/login, so that a reply
# does not tell which of name, password or group was wrong.
WRONG_CREDENTIALS = "wrong user name, password or code"

DATA_LDIF = f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: cn=reader,{BASE}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: {READER_PASSWORD}

dn: uid=alice,ou=people,{BASE}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
userPassword: {PASSWORDS["alice"]}

dn: uid=bob,ou=people,{BASE}
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
userPassword: {PASSWORDS["bob"]}

dn: uid=carol,ou=people,{BASE}
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C
userPassword: {PASSWORDS["carol"]}

dn: {OPERATORS}
objectClass: groupOfNames
cn: vms-operators
member: uid=alice,ou=people,{BASE}

dn: {ADMINS}
objectClass: groupOfNames
cn: vms-admins
member: uid=bob,ou=people,{BASE}

dn: cn=others,ou=groups,{BASE}
objectClass: groupOfNames
cn: others
member: uid=carol,ou=people,{BASE}
"""

GROUP_LINES = (f"ldap_group = administrator {ADMINS}\n"
               f"ldap_group = operator {OPERATORS}\n")


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Directory:
    """slapd serving ldap:// (StartTLS) and ldaps:// on loopback."""

    def __init__(self, workdir):
        for tool in (SLAPD, SLAPADD):
            assert os.access(tool, os.X_OK), \
                f"{tool} is missing: run scripts/install-auth-deps.sh as root"
        self.dir = os.path.join(workdir, "slapd")
        os.mkdir(self.dir)
        tls = os.path.join(self.dir, "tls")
        created = subprocess.run([VMSCTL, "tls", "init", "--dir", tls,
                               "--name", "127.0.0.1"],
                              capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, \
            f"vmsctl tls init failed: {created.stdout}{created.stderr}"
        self.ca = os.path.join(tls, "ca.pem")
        conf = os.path.join(self.dir, "slapd.conf")
        with open(conf, "w") as f:
            f.write(f"include {SCHEMA}/core.schema\n"
                    f"include {SCHEMA}/cosine.schema\n"
                    f"include {SCHEMA}/inetorgperson.schema\n"
                    "modulepath /usr/lib/ldap\n"
                    "moduleload back_mdb\n"
                    f"pidfile {self.dir}/slapd.pid\n"
                    f"argsfile {self.dir}/slapd.args\n"
                    f"TLSCACertificateFile {self.ca}\n"
                    f"TLSCertificateFile {tls}/server.pem\n"
                    f"TLSCertificateKeyFile {tls}/server.key\n"
                    "database mdb\n"
                    "maxsize 16777216\n"
                    f'suffix "{BASE}"\n'
                    f'rootdn "cn=admin,{BASE}"\n'
                    f"directory {self.dir}/data\n"
                    "access to attrs=userPassword by self read "
                    "by anonymous auth by * none\n"
                    "access to * by users read by * none\n")
        ldif = os.path.join(self.dir, "data.ldif")
        with open(ldif, "w") as f:
            f.write(DATA_LDIF)
        os.mkdir(os.path.join(self.dir, "data"))
        added = subprocess.run([SLAPADD, "-q", "-f", conf, "-l", ldif],
                               capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, f"slapadd failed: {added.stderr}"

        self.port_ldap = free_port()
        self.port_ldaps = free_port()
        self.uri_ldap = f"ldap://127.0.0.1:{self.port_ldap}"
        self.uri_ldaps = f"ldaps://127.0.0.1:{self.port_ldaps}"
        # -d 0 keeps slapd in the foreground, so that Process owns it.
        self.proc = Process([SLAPD, "-d", "0", "-f", conf, "-h",
                             f"{self.uri_ldap}/ {self.uri_ldaps}/"],
                            os.path.join(workdir, "slapd.log"))
        wait_for(lambda: not self.proc.alive() or
                 (port_open(self.port_ldap) and port_open(self.port_ldaps)),
                 10, what="slapd to listen")
        assert self.proc.alive(), "slapd exited:\n" + self.proc.output()

    def stop(self):
        self.proc.stop()


def bearer(token):
    return {"Authorization": "Bearer " + token}


def login_token(vmsd, user):
    status, body = vmsd.login(user, PASSWORDS[user])
    assert status == 200, f"{user}: login failed: {status} {body}"
    return body["token"]


def me(vmsd, token):
    status, _, body = vmsd.request("GET", "/api/v1/auth/me",
                                   headers=bearer(token))
    assert status == 200, f"auth/me failed: {status} {body}"
    return body


def assert_rejected(vmsd, user, password):
    status, body = vmsd.login(user, password)
    assert status == 401, f"{user}: expected 401, got {status} {body}"
    assert body["error"] == WRONG_CREDENTIALS, body
    assert "token" not in body, body


def check_directory_logins(vmsd):
    """alice is an operator, bob an administrator; carol (in no mapped
    group), a wrong password and an unknown name get the same 401."""
    alice = me(vmsd, login_token(vmsd, "alice"))
    assert alice["user"] == "alice", alice
    assert alice["role"] == "operator", alice

    bob_token = login_token(vmsd, "bob")
    bob = me(vmsd, bob_token)
    assert bob["user"] == "bob", bob
    assert bob["role"] == "administrator", bob
    status, _, users = vmsd.request("GET", "/api/v1/users",
                                    headers=bearer(bob_token))
    assert status == 200, f"bob cannot list users: {status} {users}"
    sources = {u["name"]: u["source"] for u in users}
    assert sources.get("alice") == "ldap", sources
    assert sources.get("bob") == "ldap", sources
    assert sources.get(ADMIN_USER) == "local", sources
    assert "carol" not in sources, sources

    assert_rejected(vmsd, "carol", PASSWORDS["carol"])
    assert_rejected(vmsd, "alice", "not-alice-password")
    assert_rejected(vmsd, "zed", "zed-secret-pw")

    status, body = vmsd.login(ADMIN_USER, ADMIN_PASSWORD)
    assert status == 200, f"local administrator login failed: {body}"
    assert me(vmsd, body["token"])["role"] == "administrator"


def check_audit(vmsd):
    status, _, body = vmsd.request("GET", "/api/v1/audit?action=login.")
    assert status == 200, f"audit list failed: {status} {body}"
    entries = [(e["action"], e["target"], e["outcome"])
               for e in body["entries"]]
    for user in ("alice", "bob"):
        success = [e for e in body["entries"]
                   if e["action"] == "login.success" and e["target"] == user]
        assert success, f"no login.success for {user}: {entries}"
        assert success[-1]["detail"] == "directory", success[-1]
    for user in ("carol", "zed"):
        assert ("login.failure", user, "denied") in entries, \
            f"no denied login.failure for {user}: {entries}"
    # The audit log, unlike the reply, records why carol was rejected.
    carol = [e for e in body["entries"] if e["target"] == "carol"]
    assert "none is mapped to a role" in carol[-1]["detail"], carol[-1]
    local = [e for e in body["entries"] if e["action"] == "login.success"
             and e["target"] == ADMIN_USER]
    assert local and local[-1]["detail"] == "local", local


def check_directory_down(vmsd, directory, uri):
    """With slapd stopped, a directory user gets 503 and the daemon's
    log names the directory and the error."""
    directory.stop()
    status, body = vmsd.login("alice", PASSWORDS["alice"])
    assert status == 503, f"expected 503, got {status} {body}"
    assert "directory server cannot be reached" in body["error"], body
    log = vmsd.output()
    assert f"directory {uri} unreachable" in log, log[-3000:]
    assert "Can't contact LDAP server" in log, log[-3000:]
    # A local account does not depend on the directory.
    status, body = vmsd.login(ADMIN_USER, ADMIN_PASSWORD)
    assert status == 200, f"local login failed with the directory down: {body}"

    status, _, audit = vmsd.request("GET",
                                    "/api/v1/audit?action=login.failure")
    assert status == 200, audit
    last = [e for e in audit["entries"] if e["target"] == "alice"][-1]
    assert last["outcome"] == "failed", last
    assert "unreachable" in last["detail"], last


def check_no_secrets_logged(vmsd):
    log = vmsd.output()
    for secret in [*PASSWORDS.values(), READER_PASSWORD,
                   "not-alice-password"]:
        assert secret not in log, f"a password reached the log: {secret}"


def test_ldaps_dn_template():
    with workspace("ldap-template") as tmp:
        directory = Directory(tmp)
        vmsd = Daemon(tmp, extra_conf=(
            f"ldap_uri = {directory.uri_ldaps}\n"
            f"ldap_ca_file = {directory.ca}\n"
            f"ldap_user_dn_template = uid=%s,ou=people,{BASE}\n"
            f"ldap_group_base_dn = ou=groups,{BASE}\n"
            "ldap_timeout_ms = 2000\n" + GROUP_LINES))
        try:
            check_directory_logins(vmsd)
            check_audit(vmsd)
            check_directory_down(vmsd, directory, directory.uri_ldaps)
            # Non-zero also when ASan or LSan found an error at exit.
            assert vmsd.stop() == 0, vmsd.output()[-3000:]
        finally:
            vmsd.stop()
            directory.stop()
        check_no_secrets_logged(vmsd)


def test_starttls_search():
    with workspace("ldap-search") as tmp:
        directory = Directory(tmp)
        password_file = os.path.join(tmp, "ldap-password")
        with open(password_file, "w") as f:
            f.write(READER_PASSWORD + "\n")
        vmsd = Daemon(tmp, extra_conf=(
            f"ldap_uri = {directory.uri_ldap}\n"
            "ldap_starttls = 1\n"
            f"ldap_ca_file = {directory.ca}\n"
            f"ldap_bind_dn = cn=reader,{BASE}\n"
            f"ldap_bind_password_file = {password_file}\n"
            f"ldap_base_dn = ou=people,{BASE}\n"
            "ldap_user_filter = (&(objectClass=inetOrgPerson)(uid=%s))\n"
            f"ldap_group_base_dn = ou=groups,{BASE}\n"
            "ldap_group_filter = (member=%s)\n"
            "ldap_timeout_ms = 2000\n" + GROUP_LINES))
        try:
            check_directory_logins(vmsd)
            check_audit(vmsd)
            check_directory_down(vmsd, directory, directory.uri_ldap)
            # Non-zero also when ASan or LSan found an error at exit.
            assert vmsd.stop() == 0, vmsd.output()[-3000:]
        finally:
            vmsd.stop()
            directory.stop()
        check_no_secrets_logged(vmsd)


def test_bad_settings_stop_start_up():
    """vmsd does not start with ldap:// without StartTLS, which would
    send passwords in clear, nor without a way to find users or a group
    map, because every directory login would then fail."""
    uri = f"ldap://127.0.0.1:{free_port()}"
    template = f"ldap_user_dn_template = uid=%s,ou=people,{BASE}\n"
    cases = [
        (f"ldap_uri = {uri}\n" + template + GROUP_LINES,
         f"invalid ldap_uri '{uri}': use ldaps://, or ldap:// with "
         "ldap_starttls = 1"),
        (f"ldap_uri = http://127.0.0.1:{free_port()}\n" + template
         + GROUP_LINES, "invalid ldap_uri 'http://"),
        (f"ldap_uri = {uri}\nldap_starttls = 1\n"
         f"ldap_base_dn = ou=people,{BASE}\n" + GROUP_LINES,
         "set ldap_user_dn_template, or ldap_base_dn and ldap_user_filter"),
        (f"ldap_uri = {uri}\nldap_starttls = 1\n" + template,
         "no ldap_group line maps a directory group to a role"),
    ]
    with workspace("ldap-settings") as tmp:
        data = os.path.join(tmp, "data")
        conf = os.path.join(tmp, "vms.conf")
        for lines, message in cases:
            with open(conf, "w") as f:
                f.write(f"listen = 127.0.0.1:{free_port()}\n"
                        f"data_dir = {data}\n" + lines)
            result = subprocess.run([VMSD, "-c", conf], capture_output=True,
                                    text=True, timeout=10)
            assert result.returncode == 2, \
                f"expected exit status 2, got {result.returncode}: " \
                f"{result.stderr}"
            assert message in result.stderr, result.stderr
            assert not os.path.exists(data), \
                "vmsd created its data directory before rejecting the file"


if __name__ == "__main__":
    run([test_ldaps_dn_template, test_starttls_search,
         test_bad_settings_stop_start_up])
