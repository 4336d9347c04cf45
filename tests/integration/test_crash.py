"""SIGKILL of the daemon in the middle of a segment, then a restart: the
partial segment is trimmed to its last whole fragment, indexed and
decodes, and no catalog row points past the end of its file."""

import os
import signal
import time

from vmstest import (Daemon, FakeCamera, decode_errors, run, sha256_file,
                     wait_for, workspace)


def partial_files(volume):
    return [os.path.join(d, f) for d, _, files in os.walk(volume)
            for f in files if f.endswith(".partial")]


def test_kill_mid_segment_then_restart():
    with workspace("crash") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp, segment_seconds=60)
        try:
            cid = vmsd.add_camera("Hall", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            time.sleep(6)
            partial = wait_for(lambda: partial_files(vmsd.volume), 10,
                               what="an open segment")[0]
            # Cut the file mid-fragment as a power cut could.
            vmsd.stop(signal.SIGKILL)
            with open(partial, "ab") as f:
                f.write(b"\x00\x00\x10\x00moof" + b"\x00" * 100)
            size_at_kill = os.path.getsize(partial)

            vmsd.start()
            wait_for(lambda: "component=recovery" in vmsd.output() and
                     "indexed=" in vmsd.output(), 10, what="recovery")
            log = vmsd.output()
            assert "action=trimmed" in log, "partial segment was not trimmed"
            final = partial[:-len(".partial")]
            assert os.path.exists(final), "recovered segment not renamed"
            assert os.path.getsize(final) < size_at_kill
            assert decode_errors(final) == "", decode_errors(final)

            rows = vmsd.catalog_rows()
            recovered = [r for r in rows
                         if os.path.join(r["volume"], r["path"]) == final]
            assert recovered, f"recovered segment not indexed: {rows}"
            assert recovered[0]["end_us"] - recovered[0]["start_us"] >= 3e6
            for row in rows:
                path = os.path.join(row["volume"], row["path"])
                assert os.path.getsize(path) >= row["bytes"], (
                    f"row points past the end of {path}")
                assert sha256_file(path) == row["sha256"], path

            # The restarted daemon records again.
            vmsd.wait_state(cid, "streaming", 20)
        finally:
            vmsd.stop()
            cam.stop()


if __name__ == "__main__":
    run([test_kill_mid_segment_then_restart])
