"""Administration over HTTP against the real daemon: users, roles and
their rights on cameras, the password policy, and the audit log with
its filters, export and chain check. Users sign in through
POST /api/v1/auth/login as a browser or script would."""

import json
import os
import sqlite3

from vmstest import (ADMIN_USER, Daemon, FakeCamera, WebSocket, run,
                     workspace)

PASSWORD = "lantern-quarry-41"


def bearer(token):
    return {"Authorization": "Bearer " + token}


def create_user(vmsd, name, role, password=PASSWORD):
    status, _, body = vmsd.request(
        "POST", "/api/v1/users",
        {"name": name, "password": password, "role": role})
    assert status == 201, f"user create failed: {status} {body}"
    return body


def login_token(vmsd, name, password=PASSWORD):
    status, body = vmsd.login(name, password)
    assert status == 200, f"login of {name} failed: {status} {body}"
    return body["token"]


def user_id(vmsd, name):
    status, _, users = vmsd.request("GET", "/api/v1/users")
    assert status == 200, users
    for user in users:
        if user["name"] == name:
            return user["id"]
    raise AssertionError(f"user {name} missing from {users}")


def role_named(vmsd, name):
    status, _, roles = vmsd.request("GET", "/api/v1/roles")
    assert status == 200, roles
    for role in roles:
        if role["name"] == name:
            return role
    raise AssertionError(f"role {name} missing from {roles}")


def audit(vmsd, query=""):
    status, _, body = vmsd.request("GET", "/api/v1/audit" + query)
    assert status == 200, f"audit list failed: {status} {body}"
    return body


def test_user_create_and_viewer_rights():
    with workspace("admin-users") as tmp:
        vmsd = Daemon(tmp)
        try:
            user = create_user(vmsd, "vera", "viewer")
            assert user["name"] == "vera"
            assert user["role"] == "viewer"
            assert user["source"] == "local"
            assert user["disabled"] is False
            assert user["totp_enabled"] is False
            assert user["created_us"] > 0
            assert user["password_changed_us"] == user["created_us"]

            status, _, users = vmsd.request("GET", "/api/v1/users")
            assert status == 200
            assert sorted(u["name"] for u in users) == [ADMIN_USER, "vera"]
            text = json.dumps(users)
            assert "argon2" not in text, text
            assert PASSWORD not in text, text
            assert all(set(u) == set(user) for u in users), users

            status, _, one = vmsd.request("GET",
                                          f"/api/v1/users/{user['id']}")
            assert status == 200, one
            assert one == user, one

            token = login_token(vmsd, "vera")
            status, _, body = vmsd.request("GET", "/api/v1/users",
                                           headers=bearer(token))
            assert status == 403, body
            status, _, body = vmsd.request("GET", "/api/v1/audit",
                                           headers=bearer(token))
            assert status == 403, body
            status, _, me = vmsd.request("GET", "/api/v1/auth/me",
                                         headers=bearer(token))
            assert status == 200, me
            assert me["role"] == "viewer", me

            # Names compare case-insensitively.
            status, _, body = vmsd.request(
                "POST", "/api/v1/users",
                {"name": "VERA", "password": PASSWORD, "role": "viewer"})
            assert status == 409, body
            assert "already exists" in body["error"], body

            bad_bodies = [
                ({"name": "nopass", "role": "viewer"}, "missing password"),
                ({"name": "norole", "password": PASSWORD}, "missing role"),
                ({"name": "short", "password": "abc", "role": "viewer"},
                 "password too short"),
                ({"name": "quarry", "password": PASSWORD, "role": "viewer"},
                 "contains the user name"),
                ({"name": "x", "password": PASSWORD, "role": "janitor"},
                 "invalid role 'janitor'"),
                ({"name": "bad name", "password": PASSWORD,
                  "role": "viewer"}, "invalid name"),
                ({"name": 7, "password": PASSWORD, "role": "viewer"},
                 "invalid name"),
                ({"name": "y", "password": PASSWORD, "role": "viewer",
                  "admin": True}, "unknown field 'admin'"),
            ]
            for bad, message in bad_bodies:
                status, _, body = vmsd.request("POST", "/api/v1/users", bad)
                assert status == 400, (bad, status, body)
                assert message in body["error"], (bad, body)

            status, _, body = vmsd.request("GET", "/api/v1/users/999")
            assert status == 404, body
            assert "999" in body["error"], body
            status, _, body = vmsd.request("PATCH", "/api/v1/users/999",
                                           {"disabled": True})
            assert status == 404, body
            status, _, body = vmsd.request("DELETE", "/api/v1/users/999")
            assert status == 404, body
            status, _, body = vmsd.request("PATCH",
                                           f"/api/v1/users/{user['id']}", {})
            assert status == 400
            assert "nothing to change" in body["error"]

            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/users/{user['id']}")
            assert status == 204, body
            status, _, body = vmsd.request("GET", "/api/v1/auth/me",
                                           headers=bearer(token))
            assert status == 401, "a deleted user's session still works"
        finally:
            vmsd.stop()


def test_role_with_live_on_one_camera():
    with workspace("admin-roles") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            gate = vmsd.add_camera("Gate", cam.url)
            yard = vmsd.add_camera("Yard", cam.url)
            vmsd.wait_state(gate, "streaming", 20)

            status, _, role = vmsd.request(
                "POST", "/api/v1/roles",
                {"name": "gate-watch",
                 "cameras": [{"camera_id": gate, "rights": ["live"]}]})
            assert status == 201, role
            assert role["builtin"] is False
            assert role["rights"] == []
            assert role["all_cameras"] == []
            assert role["require_totp"] is False
            assert role["cameras"] == [{"camera_id": gate,
                                        "rights": ["live"]}], role
            assert role_named(vmsd, "gate-watch") == role

            create_user(vmsd, "guard", "gate-watch")
            token = login_token(vmsd, "guard")
            status, _, cameras = vmsd.request("GET", "/api/v1/cameras",
                                              headers=bearer(token))
            assert status == 200, cameras
            assert [c["id"] for c in cameras] == [gate], cameras
            status, _, _ = vmsd.request("GET", f"/api/v1/cameras/{gate}",
                                        headers=bearer(token))
            assert status == 200
            status, _, _ = vmsd.request("GET", f"/api/v1/cameras/{yard}",
                                        headers=bearer(token))
            assert status == 403
            status, _, _ = vmsd.request(
                "GET", f"/api/v1/cameras/{gate}/recordings?from=0&to=1",
                headers=bearer(token))
            assert status == 403, "live alone must not allow playback"

            ws = WebSocket("127.0.0.1", vmsd.port,
                           f"/api/v1/cameras/{gate}/live", api_key=token)
            opcode, header = ws.receive()
            ws.close()
            assert opcode == 1
            assert json.loads(header)["type"] == "init"
            try:
                WebSocket("127.0.0.1", vmsd.port,
                          f"/api/v1/cameras/{yard}/live", api_key=token)
            except ConnectionError as err:
                assert "403" in str(err), err
            else:
                raise AssertionError("live view of the yard camera opened")

            # Moving the grant to the other camera moves the access.
            status, _, role = vmsd.request(
                "PUT", f"/api/v1/roles/{role['id']}",
                {"cameras": [{"camera_id": yard,
                              "rights": ["live", "playback"]}]})
            assert status == 200, role
            assert role["cameras"] == [{"camera_id": yard,
                                        "rights": ["live", "playback"]}]
            status, _, _ = vmsd.request("GET", f"/api/v1/cameras/{gate}",
                                        headers=bearer(token))
            assert status == 403
            status, _, _ = vmsd.request("GET", f"/api/v1/cameras/{yard}",
                                        headers=bearer(token))
            assert status == 200

            bad_bodies = [
                ({"name": "r1", "rights": ["live"]}, "invalid rights"),
                ({"name": "r2", "all_cameras": ["audit"]},
                 "invalid all_cameras"),
                ({"name": "r3", "rights": ["fly"]}, "unknown right 'fly'"),
                ({"name": "r4", "cameras": [{"camera_id": 999,
                                             "rights": ["live"]}]},
                 "camera 999 not found"),
                ({"name": "r5", "cameras": [{"camera_id": gate,
                                             "rights": ["users"]}]},
                 "invalid cameras rights"),
                ({"name": "r6", "cameras": [
                    {"camera_id": gate, "rights": ["live"]},
                    {"camera_id": gate, "rights": ["ptz"]}]},
                 "listed twice"),
                ({"name": "r7", "cameras": [{"camera_id": "1"}]},
                 "invalid cameras[0]"),
                ({"rights": []}, "missing name"),
                ({"name": "r8", "require_totp": "yes"},
                 "invalid require_totp"),
            ]
            for bad, message in bad_bodies:
                status, _, body = vmsd.request("POST", "/api/v1/roles", bad)
                assert status == 400, (bad, status, body)
                assert message in body["error"], (bad, body)
            status, _, body = vmsd.request("POST", "/api/v1/roles",
                                           {"name": "gate-watch"})
            assert status == 409, body

            # Built-in roles keep their rights; only require_totp moves.
            viewer = role_named(vmsd, "viewer")
            status, _, body = vmsd.request(
                "PUT", f"/api/v1/roles/{viewer['id']}",
                {"all_cameras": ["live"]})
            assert status == 403, body
            assert "built-in" in body["error"], body
            status, _, body = vmsd.request(
                "PUT", f"/api/v1/roles/{viewer['id']}",
                {"cameras": [{"camera_id": gate, "rights": ["ptz"]}]})
            assert status == 403, body
            status, _, body = vmsd.request(
                "PUT", f"/api/v1/roles/{viewer['id']}",
                {"require_totp": True})
            assert status == 200, body
            assert body["require_totp"] is True, body
            assert body["all_cameras"] == ["live", "playback"], body
            status, _, body = vmsd.request(
                "PUT", f"/api/v1/roles/{viewer['id']}",
                {"name": "watcher"})
            assert status == 400, body
            assert "renamed" in body["error"], body
            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/roles/{viewer['id']}")
            assert status == 403, body
            status, _, body = vmsd.request("PUT", "/api/v1/roles/999",
                                           {"require_totp": False})
            assert status == 404, body

            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/roles/{role['id']}")
            assert status == 409, body
            assert "guard" in body["error"], body
            status, _, _ = vmsd.request(
                "DELETE", f"/api/v1/users/{user_id(vmsd, 'guard')}")
            assert status == 204
            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/roles/{role['id']}")
            assert status == 204, body
            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/roles/{role['id']}")
            assert status == 404, body

            # The library records each change once, failures included.
            entries = audit(vmsd, "?action=role.")["entries"]
            done = [(e["action"], e["outcome"]) for e in entries]
            assert done.count(("role.create", "ok")) == 1, done
            assert done.count(("role.create", "failed")) == 1, done
            assert done.count(("role.grant", "ok")) == 3, done
            assert done.count(("role.update", "ok")) == 1, done
            assert done.count(("role.delete", "failed")) == 1, done
            assert done.count(("role.delete", "ok")) == 1, done
        finally:
            vmsd.stop()
            cam.stop()


def test_disable_and_password_reset():
    with workspace("admin-disable") as tmp:
        vmsd = Daemon(tmp)
        try:
            uid = create_user(vmsd, "olga", "operator")["id"]
            token = login_token(vmsd, "olga")
            status, _, me = vmsd.request("GET", "/api/v1/auth/me",
                                         headers=bearer(token))
            assert status == 200, me
            assert me["user"] == "olga", me
            status, _, key = vmsd.request("POST", "/api/v1/auth/keys",
                                          {"name": "script"},
                                          headers=bearer(token))
            assert status == 201, key

            status, _, user = vmsd.request("PATCH", f"/api/v1/users/{uid}",
                                           {"disabled": True})
            assert status == 200, user
            assert user["disabled"] is True, user
            status, _, _ = vmsd.request("GET", "/api/v1/auth/me",
                                        headers=bearer(token))
            assert status == 401, "a disabled user's session still works"
            status, _, _ = vmsd.request("GET", "/api/v1/auth/me",
                                        headers=bearer(key["key"]))
            assert status == 401, "a disabled user's API key still works"
            status, _ = vmsd.login("olga", PASSWORD)
            assert status == 401, "a disabled user signed in"

            status, _, user = vmsd.request("PATCH", f"/api/v1/users/{uid}",
                                           {"disabled": False,
                                            "role": "viewer"})
            assert status == 200, user
            assert user["disabled"] is False
            assert user["role"] == "viewer"
            token = login_token(vmsd, "olga")

            # A rejected password changes nothing, not even the role sent
            # with it.
            status, _, body = vmsd.request(
                "PATCH", f"/api/v1/users/{uid}",
                {"role": "operator", "password": "short"})
            assert status == 400
            assert "invalid password" in body["error"]
            status, _, user = vmsd.request("GET", f"/api/v1/users/{uid}")
            assert user["role"] == "viewer", user
            status, _, body = vmsd.request("PATCH", f"/api/v1/users/{uid}",
                                           {"disabled": "yes"})
            assert status == 400
            assert "invalid disabled" in body["error"]
            status, _, body = vmsd.request("PATCH", f"/api/v1/users/{uid}",
                                           {"role": "janitor"})
            assert status == 400
            assert "invalid role" in body["error"]

            # An administrator's reset ends the user's sessions.
            new_password = "harbour-violet-93"
            before = user["password_changed_us"]
            status, _, user = vmsd.request(
                "PATCH", f"/api/v1/users/{uid}",
                {"password": new_password, "totp_reset": True})
            assert status == 200, user
            assert user["password_changed_us"] > before, user
            status, _, _ = vmsd.request("GET", "/api/v1/auth/me",
                                        headers=bearer(token))
            assert status == 401, "a session outlived the password reset"
            status, _ = vmsd.login("olga", PASSWORD)
            assert status == 401, "the old password still works"
            login_token(vmsd, "olga", new_password)

            entries = audit(vmsd, "?actor=" + ADMIN_USER)["entries"]
            actions = [e["action"] for e in entries]
            for action in ("user.create", "user.disable", "user.enable",
                           "user.role", "user.password", "totp.disable"):
                assert action in actions, (action, actions)
            assert actions.count("user.role") == 1, actions
        finally:
            vmsd.stop()


def test_last_administrator_kept():
    with workspace("admin-last") as tmp:
        vmsd = Daemon(tmp)
        try:
            admin = user_id(vmsd, ADMIN_USER)
            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/users/{admin}")
            assert status == 403, body
            assert "last administrator" in body["error"], body
            status, _, body = vmsd.request("PATCH", f"/api/v1/users/{admin}",
                                           {"disabled": True})
            assert status == 403, body
            assert "last administrator" in body["error"], body
            status, _, body = vmsd.request("PATCH", f"/api/v1/users/{admin}",
                                           {"role": "viewer"})
            assert status == 403, body
            status, _, user = vmsd.request("GET", f"/api/v1/users/{admin}")
            assert status == 200, user
            assert user["role"] == "administrator", user
            assert user["disabled"] is False, user

            # With a second administrator the first one may go.
            create_user(vmsd, "ada", "administrator")
            token = login_token(vmsd, "ada")
            status, _, body = vmsd.request("DELETE",
                                           f"/api/v1/users/{admin}",
                                           headers=bearer(token))
            assert status == 204, body
            status, _, body = vmsd.request("GET", "/api/v1/users")
            assert status == 401, "the deleted administrator's key works"
            status, _, users = vmsd.request("GET", "/api/v1/users",
                                            headers=bearer(token))
            assert [u["name"] for u in users] == ["ada"], users
        finally:
            vmsd.stop()


def test_audit_list_filters_and_export():
    with workspace("admin-audit") as tmp:
        vmsd = Daemon(tmp)
        try:
            create_user(vmsd, "ulla", "viewer")
            created = audit(vmsd, "?action=user.create")["entries"]
            assert [e["target"] for e in created] == [ADMIN_USER, "ulla"], \
                created
            entry = created[-1]
            assert entry["actor"] == ADMIN_USER, entry
            assert entry["outcome"] == "ok", entry
            assert entry["detail"] == "viewer", entry
            assert len(entry["hash"]) == 64, entry
            assert len(entry["prev_hash"]) == 64, entry

            everything = audit(vmsd, "?limit=1000")
            assert everything["truncated"] is False
            seqs = [e["seq"] for e in everything["entries"]]
            assert seqs == list(range(1, len(seqs) + 1)), seqs
            for before, after in zip(everything["entries"],
                                     everything["entries"][1:]):
                assert after["prev_hash"] == before["hash"], (before, after)

            by_actor = audit(vmsd, "?actor=" + ADMIN_USER)["entries"]
            assert by_actor, "no entries by the administrator"
            assert all(e["actor"] == ADMIN_USER for e in by_actor)
            prefix = audit(vmsd, "?action=login.")["entries"]
            assert prefix, "no login entries"
            assert all(e["action"].startswith("login.") for e in prefix)

            page = audit(vmsd, "?limit=2")
            assert [e["seq"] for e in page["entries"]] == [1, 2], page
            assert page["truncated"] is True
            page = audit(vmsd, "?after=2&limit=2")
            assert [e["seq"] for e in page["entries"]] == [3, 4], page

            # to is exclusive and from inclusive; ISO 8601 works too.
            cut = entry["time_us"]
            older = audit(vmsd, f"?to={cut}&limit=1000")["entries"]
            assert older, "no entries before the user was created"
            assert all(e["time_us"] < cut for e in older), older
            newer = audit(vmsd, f"?from={cut}&limit=1000")["entries"]
            assert entry["seq"] in [e["seq"] for e in newer]
            assert len(older) + len(newer) == len(seqs)
            assert audit(vmsd, "?from=2999-01-01T00:00:00Z")["entries"] == []

            for query, message in [("?limit=0", "invalid limit"),
                                   ("?limit=1001", "invalid limit"),
                                   ("?after=-1", "invalid after"),
                                   ("?from=yesterday", "invalid from"),
                                   (f"?from={cut}&to={cut}", "invalid range"),
                                   ("?format=xml", "invalid format"),
                                   ("?actor=" + "a" * 70, "invalid actor")]:
                status, _, body = vmsd.request("GET", "/api/v1/audit" + query)
                assert status == 400, (query, status, body)
                assert message in body["error"], (query, body)

            status, headers, data = vmsd.request(
                "GET", "/api/v1/audit?format=jsonl&action=user.", raw=True)
            assert status == 200, data
            assert headers["content-type"] == "application/x-ndjson", headers
            assert headers["content-disposition"].startswith("attachment")
            lines = [json.loads(line) for line in data.decode().splitlines()]
            assert [e["target"] for e in lines] == [ADMIN_USER, "ulla"], \
                lines
            assert lines[1]["hash"] == entry["hash"], lines
            exports = audit(vmsd, "?action=audit.export")["entries"]
            assert len(exports) == 1, exports
            assert exports[0]["detail"] == "rows=2", exports
        finally:
            vmsd.stop()


def test_audit_verify_finds_edited_row():
    with workspace("admin-verify") as tmp:
        vmsd = Daemon(tmp)
        try:
            create_user(vmsd, "edda", "viewer")
            status, _, result = vmsd.request("GET", "/api/v1/audit/verify")
            assert status == 200, result
            assert result["intact"] is True, result
            assert result["count"] >= 4, result
            assert result["bad_seq"] is None
            assert result["error"] is None

            created = audit(vmsd, "?action=user.create")["entries"][-1]
            db = sqlite3.connect(os.path.join(vmsd.data_dir, "catalog.db"),
                                 timeout=10)
            try:
                with db:
                    db.execute("UPDATE auth_audit SET detail = ? "
                               "WHERE seq = ?",
                               ("administrator", created["seq"]))
            finally:
                db.close()

            status, _, result = vmsd.request("GET", "/api/v1/audit/verify")
            assert status == 200, result
            assert result["intact"] is False, result
            assert result["bad_seq"] == created["seq"], result
            assert result["count"] == created["seq"] - 1, result
            assert "edited" in result["error"], result
        finally:
            vmsd.stop()


def test_password_policy_settings():
    with workspace("admin-settings") as tmp:
        vmsd = Daemon(tmp)
        try:
            status, _, settings = vmsd.request("GET", "/api/v1/settings")
            assert status == 200, settings
            assert settings == {"password_policy": {
                "min_length": 12, "min_classes": 0,
                "reject_username": True}}, settings

            for policy, message in [
                    ({"min_length": 8}, "invalid minimum password length 8"),
                    ({"min_classes": 5}, "character classes 5"),
                    ({"reject_username": False}, "cannot be turned off"),
                    ({"min_length": "20"},
                     "invalid password_policy.min_length"),
                    ({"max_age": 90}, "unknown field")]:
                status, _, body = vmsd.request(
                    "PUT", "/api/v1/settings", {"password_policy": policy})
                assert status == 400, (policy, status, body)
                assert message in body["error"], (policy, body)
            status, _, settings = vmsd.request("GET", "/api/v1/settings")
            assert settings["password_policy"]["min_length"] == 12

            status, _, settings = vmsd.request(
                "PUT", "/api/v1/settings",
                {"password_policy": {"min_length": 20, "min_classes": 3}})
            assert status == 200, settings
            assert settings["password_policy"] == {
                "min_length": 20, "min_classes": 3,
                "reject_username": True}, settings
            status, _, body = vmsd.request(
                "POST", "/api/v1/users",
                {"name": "pat", "password": PASSWORD, "role": "viewer"})
            assert status == 400, body
            assert "too short" in body["error"], body
            create_user(vmsd, "pat", "viewer",
                        password="Lantern-Quarry-41-Harbour")

            changes = audit(vmsd, "?action=settings.")["entries"]
            assert [e["detail"] for e in changes] == [
                "min_length=20 min_classes=3"], changes
        finally:
            vmsd.stop()


if __name__ == "__main__":
    run([test_user_create_and_viewer_rights,
         test_role_with_live_on_one_camera,
         test_disable_and_password_reset,
         test_last_administrator_kept,
         test_audit_list_filters_and_export,
         test_audit_verify_finds_edited_row,
         test_password_policy_settings])
