"""Storage management end to end: volume identities, retention with an
evidence hold, the integrity chain, and a full disk.

The full-disk case mounts a small tmpfs inside the test's temporary
directory (root is needed, as for every mount) and unmounts it
afterwards, even on failure.
"""

import os
import sqlite3
import subprocess
import time

from vmstest import (FAULT_INJECT, VMSCTL, FOOTAGE_NO_AUDIO, Daemon, FakeCamera,
                     decode_errors, run, sha256_file, wait_for, workspace)


def vmsctl(vmsd, *args):
    """Runs vmsctl against the daemon; returns the completed process."""
    return subprocess.run([VMSCTL, "--url", vmsd.base, *args],
                          capture_output=True, text=True, timeout=60)


def storage(vmsd):
    status, _, body = vmsd.request("GET", "/api/v1/storage")
    assert status == 200, body
    return body


def verify(vmsd, cid):
    status, _, body = vmsd.request("GET", f"/api/v1/cameras/{cid}/verify")
    assert status == 200, body
    return body


def test_missing_volume_detected():
    with workspace("volumes") as tmp:
        b = os.path.join(tmp, "disk-b")
        extra = (f"volume = {b}\nvolume_reserve_mb = 1\n")
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp, segment_seconds=2, extra_conf=extra)
        try:
            report = storage(vmsd)
            paths = [v["path"] for v in report["volumes"]]
            assert b in paths and vmsd.volume in paths, paths
            assert all(v["state"] == "ok" for v in report["volumes"]), report
            assert all(len(v["uuid"]) == 36 for v in report["volumes"])
            cid = vmsd.add_camera("Gate", cam.url)
            wait_for(lambda: len(vmsd.catalog_rows()) >= 2, 30,
                     what="two segments")
            vmsd.stop()

            # Unmount disk B: its mount point is an empty directory now.
            os.rename(b, b + ".unmounted")
            os.mkdir(b)
            vmsd.start()
            report = storage(vmsd)
            state = {v["path"]: v["state"] for v in report["volumes"]}
            assert state[b] == "missing", state
            kinds = [a["kind"] for a in report["alarms"]]
            assert "volume_missing" in kinds, report["alarms"]
            before = len(vmsd.catalog_rows())
            wait_for(lambda: len(vmsd.catalog_rows()) >= before + 2, 30,
                     what="recording on the remaining volume")
            assert os.listdir(b) == [], "something was written to an " \
                "empty mount point"
            # Disk B holds another disk's identity: a swapped disk.
            os.rmdir(b)
            os.rename(b + ".unmounted", b)
            vmsd.stop()
            ident = os.path.join(vmsd.volume, ".vms-volume")
            with open(ident) as f:
                text = f.read()
            with open(os.path.join(b, ".vms-volume")) as f:
                other = f.read()
            with open(ident, "w") as f:
                f.write(other)
            vmsd.start()
            report = storage(vmsd)
            state = {v["path"]: v["state"] for v in report["volumes"]}
            assert state[vmsd.volume] == "foreign", state
            with open(ident, "w") as f:
                f.write(text)
            assert cid
        finally:
            vmsd.stop()
            cam.stop()


def test_retention_bytes_and_hold():
    with workspace("retention") as tmp:
        # This footage has a keyframe every second, so segments are 2 s.
        cam = FakeCamera(tmp, footage=FOOTAGE_NO_AUDIO)
        vmsd = Daemon(tmp, segment_seconds=2,
                      extra_conf="retention_interval_seconds = 1\n"
                                 "volume_reserve_mb = 1\n")
        try:
            cid = vmsd.add_camera("Yard", cam.url)
            first = wait_for(lambda: vmsd.catalog_rows(), 30,
                             what="a first segment")[0]
            status, _, hold = vmsd.request(
                "POST", "/api/v1/holds",
                {"camera_id": cid, "start_us": first["start_us"],
                 "end_us": first["start_us"] + 1, "reason": "case 42"})
            assert status == 201, hold
            status, _, _ = vmsd.request(
                "PATCH", f"/api/v1/cameras/{cid}",
                {"retention_bytes": 150_000})
            assert status == 200
            wait_for(lambda: "component=retention deleted=" in vmsd.output(),
                     30, what="retention to delete")
            time.sleep(3)
            rows = vmsd.catalog_rows()
            paths = [r["path"] for r in rows]
            assert first["path"] in paths, "a held segment was deleted"
            unheld = sum(r["bytes"] for r in rows if r["path"] != first["path"])
            biggest = max(r["bytes"] for r in rows)
            # Retention runs every second; one new segment may be above
            # the limit until the next pass.
            assert unheld <= 150_000 + biggest, (unheld, rows)
            report = storage(vmsd)
            cam_report = [c for c in report["cameras"]
                          if c["camera_id"] == cid][0]
            assert cam_report["held_bytes"] == first["bytes"], cam_report
            # The footage averages about 190 kbit/s.
            assert 100_000 < cam_report["bitrate_hour_bps"] < 400_000, \
                cam_report
            assert cam_report["forecast_days"] is not None
            for row in rows:
                assert os.path.exists(os.path.join(row["volume"], row["path"]))
            result = verify(vmsd, cid)
            assert result["ok"], result["problems"]

            # A retention no disk here can hold raises the forecast alarm.
            status, _, _ = vmsd.request(
                "PATCH", f"/api/v1/cameras/{cid}",
                {"retention_days": 36500, "retention_bytes": 0})
            assert status == 200
            alarms = storage(vmsd)["alarms"]
            forecast = [x for x in alarms
                        if x["kind"] == "forecast_below_retention"]
            assert forecast and "Yard" in forecast[0]["message"], alarms
        finally:
            vmsd.stop()
            cam.stop()
        log = vmsd.output()
        assert "event=updated" in log
        assert log.count("component=cameras camera=1 event=started") == 1, \
            "a retention change restarted the camera's streams"


def test_integrity_chain_detects_tampering():
    with workspace("integrity") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp, segment_seconds=2)
        try:
            cid = vmsd.add_camera("Vault", cam.url)
            wait_for(lambda: len(vmsd.catalog_rows()) >= 5, 40,
                     what="five segments")
            vmsd.stop()
        finally:
            vmsd.stop()
            cam.stop()
        db_path = os.path.join(vmsd.data_dir, "catalog.db")
        rows = vmsd.catalog_rows()

        vmsd.start()
        try:
            result = verify(vmsd, cid)
            assert result["ok"] and result["segments"] == len(rows), result
            out = vmsctl(vmsd, "verify", "--camera", str(cid))
            assert out.returncode == 0, out.stdout + out.stderr
            assert f"{len(rows)} segments checked, 0 problems" in out.stdout
            out = vmsctl(vmsd, "storage")
            assert out.returncode == 0 and "no storage alarm" in out.stdout, \
                out.stdout + out.stderr

            # An edited file.
            path = os.path.join(rows[1]["volume"], rows[1]["path"])
            with open(path, "r+b") as f:
                f.seek(os.path.getsize(path) - 10)
                f.write(b"X")
            problems = verify(vmsd, cid)["problems"]
            assert [p["path"] for p in problems] == [rows[1]["path"]]
            assert "content changed" in problems[0]["problem"]
            out = vmsctl(vmsd, "verify", "--camera", str(cid), "--from",
                         str(rows[0]["start_us"]))
            assert out.returncode == 1, out.stdout + out.stderr
            assert "content changed" in out.stdout and \
                "1 problems" in out.stdout, out.stdout

            # A deleted row, made directly in the database.
            db = sqlite3.connect(db_path)
            db.execute("DELETE FROM recordings WHERE path = ?",
                       (rows[2]["path"],))
            db.commit()
            problems = verify(vmsd, cid)["problems"]
            broken = [p for p in problems if "chain broken" in p["problem"]]
            assert [p["path"] for p in broken] == [rows[3]["path"]], problems

            # An edited row: its end time moved.
            db.execute("UPDATE recordings SET end_us = end_us + 1000000 "
                       "WHERE path = ?", (rows[4]["path"],))
            db.commit()
            db.close()
            problems = verify(vmsd, cid)["problems"]
            broken = [p["path"] for p in problems
                      if "chain broken" in p["problem"]]
            assert rows[4]["path"] in broken, problems
        finally:
            vmsd.stop()


def test_full_disk_keeps_recording():
    if os.geteuid() != 0:
        raise AssertionError("this test mounts a tmpfs and needs root; run "
                             "the test suite as root")
    with workspace("fulldisk") as tmp:
        mnt = os.path.join(tmp, "small")
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs",
                        mnt], check=True)
        vmsd = cam = None
        try:
            cam = FakeCamera(tmp)
            volume = os.path.join(mnt, "video")
            vmsd = Daemon(tmp, segment_seconds=2, volume=volume,
                          extra_conf="volume_reserve_mb = 0\n"
                                     "volume_high_percent = 90\n"
                                     "volume_low_percent = 60\n"
                                     "retention_interval_seconds = 30\n")
            cid = vmsd.add_camera("Dock", cam.url)
            wait_for(lambda: any(r["volume"] == volume
                                 for r in vmsd.catalog_rows()), 40,
                     what="a segment on the small volume")
            # Fill the disk to leave about 200 kB.
            st = os.statvfs(mnt)
            free = st.f_bavail * st.f_frsize
            with open(os.path.join(mnt, "filler"), "wb") as f:
                f.write(b"\0" * max(0, free - 200_000))
            wait_for(lambda: "event=space_needed" in vmsd.output(), 30,
                     what="the recorder to hit ENOSPC")
            time.sleep(4)
            assert vmsd.alive(), "vmsd exited on a full disk"
            os.unlink(os.path.join(mnt, "filler"))
            count = len(vmsd.catalog_rows())
            wait_for(lambda: len(vmsd.catalog_rows()) > count, 30,
                     what="recording to continue")
            for row in vmsd.catalog_rows():
                path = os.path.join(row["volume"], row["path"])
                assert os.path.getsize(path) == row["bytes"], path
                assert sha256_file(path) == row["sha256"], path
                assert decode_errors(path) == "", decode_errors(path)

            # The disk comes back read-only: detected at start, with an
            # alarm, and the daemon runs on.
            vmsd.stop()
            subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
            vmsd.start()
            report = storage(vmsd)
            state = {v["path"]: v["state"] for v in report["volumes"]}
            assert state[volume] == "read_only", state
            kinds = [x["kind"] for x in report["alarms"]]
            assert "volume_read_only" in kinds, kinds
            time.sleep(2)
            assert vmsd.alive()
            assert cid
        finally:
            if vmsd:
                vmsd.stop()
            if cam:
                cam.stop()
            subprocess.run(["umount", mnt], check=False)


def test_failing_disk_moves_recording():
    """A volume whose fsync fails stops taking writes and raises an
    alarm; a write error (EIO) closes the segment at its last whole
    fragment; recording goes on on the other volume."""
    with workspace("faildisk") as tmp:
        a = os.path.join(tmp, "disk-a")
        b = os.path.join(tmp, "disk-b")
        env = dict(os.environ, LD_PRELOAD=FAULT_INJECT, VMS_FAULT_DIR=a,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                   ":verify_asan_link_order=0")
        cam = FakeCamera(tmp, footage=FOOTAGE_NO_AUDIO)
        vmsd = Daemon(tmp, segment_seconds=2, volume=a, env=env,
                      extra_conf=f"volume = {b}\nvolume_reserve_mb = 1\n"
                                 "fsync_interval_ms = 200\n")
        try:
            cid = vmsd.add_camera("Gate", cam.url)
            wait_for(lambda: any(r["volume"] == a
                                 for r in vmsd.catalog_rows()), 30,
                     what="a segment on volume A")
            # Writes to A fail: the open segment is cut back to its last
            # whole fragment and indexed; A goes out of service.
            open(os.path.join(a, ".fail-write"), "w").close()
            wait_for(lambda: any(r["volume"] == b
                                 for r in vmsd.catalog_rows()), 30,
                     what="recording to move to volume B")
            report = storage(vmsd)
            state = {v["path"]: v["state"] for v in report["volumes"]}
            assert state[a] == "write_error", state
            assert state[b] == "ok", state
            assert "write_error" in [x["kind"] for x in report["alarms"]]
            os.unlink(os.path.join(a, ".fail-write"))
            vmsd.stop()

            # fsync fails on A after a restart: the same, and the open
            # file stays ".partial" for recovery.
            vmsd.start()
            open(os.path.join(a, ".fail-fsync"), "w").close()
            wait_for(lambda: "fsync on volume" in vmsd.output(), 30,
                     what="an fsync failure")
            report = storage(vmsd)
            state = {v["path"]: v["state"] for v in report["volumes"]}
            assert state[a] == "write_error", state
            count = len(vmsd.catalog_rows())
            wait_for(lambda: len(vmsd.catalog_rows()) > count + 1, 30,
                     what="recording to continue on volume B")
            assert vmsd.alive()
            os.unlink(os.path.join(a, ".fail-fsync"))
            vmsd.stop()
            vmsd.env = None
            vmsd.start()
            assert "action=trimmed" in vmsd.output() or \
                "action=indexed" in vmsd.output(), "partial not recovered"
        finally:
            vmsd.stop()
            cam.stop()
        for row in vmsd.catalog_rows():
            path = os.path.join(row["volume"], row["path"])
            assert os.path.getsize(path) == row["bytes"], path
            assert sha256_file(path) == row["sha256"], path
            assert decode_errors(path) == "", decode_errors(path)
        assert cid


def test_missing_file_marked_and_reported():
    with workspace("missingfile") as tmp:
        cam = FakeCamera(tmp, footage=FOOTAGE_NO_AUDIO)
        vmsd = Daemon(tmp, segment_seconds=2)
        try:
            cid = vmsd.add_camera("Gate", cam.url)
            rows = wait_for(lambda: len(r := vmsd.catalog_rows()) >= 3 and r,
                            30, what="three segments")
            vmsd.stop()
            os.unlink(os.path.join(rows[1]["volume"], rows[1]["path"]))
            vmsd.start()
            report = storage(vmsd)
            assert "recording_missing" in [x["kind"] for x in
                                           report["alarms"]], report["alarms"]
            problems = verify(vmsd, cid)["problems"]
            assert [p["path"] for p in problems] == [rows[1]["path"]], problems
            assert "missing" in problems[0]["problem"]
            status, _, listing = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/recordings"
                       f"?from={rows[0]['start_us']}&to={rows[2]['end_us']}")
            assert rows[1]["start_us"] not in [
                r["start_us"] for r in listing["recordings"]]
        finally:
            vmsd.stop()
            cam.stop()


if __name__ == "__main__":
    run([test_missing_volume_detected, test_retention_bytes_and_hold,
         test_integrity_chain_detects_tampering,
         test_full_disk_keeps_recording, test_failing_disk_moves_recording,
         test_missing_file_marked_and_reported])
