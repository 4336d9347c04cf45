"""End-to-end recording: the real daemon records the RTSP test camera.

- 20 s of recording: segment files match their catalog rows byte for
  byte, the recorded duration is within 1 s of the wall-clock time, and
  every segment decodes without a decoder error.
- SIGTERM closes and indexes the open segment (no ".partial" left).
"""

import os
import signal
import time

from vmstest import (Daemon, FakeCamera, decode_errors, run, sha256_file,
                     wait_for, workspace)


def test_record_twenty_seconds():
    with workspace("record") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp, segment_seconds=8)
        try:
            cid = vmsd.add_camera("Gate", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            # Recording starts at the first keyframe; time it from the
            # first fragment the daemon published.
            wait_for(lambda: vmsd.stream(cid)["fragments"] > 0, 20,
                     what="the first fragment")
            started = time.time()
            time.sleep(20)
            status = vmsd.stop(signal.SIGTERM)
            stopped = time.time()
            assert status == 0, f"vmsd exited with {status}"
        finally:
            vmsd.stop()
            cam.stop()

        rows = vmsd.catalog_rows()
        assert len(rows) >= 3, f"expected at least 3 segments, got {rows}"
        for row in rows:
            path = os.path.join(row["volume"], row["path"])
            assert os.path.exists(path), f"catalogued file missing: {path}"
            assert os.path.getsize(path) == row["bytes"], (
                f"{path}: {os.path.getsize(path)} bytes on disk, "
                f"{row['bytes']} in the catalog")
            assert sha256_file(path) == row["sha256"], f"{path}: hash differs"
            errors = decode_errors(path)
            assert errors == "", f"{path} does not decode cleanly: {errors}"
        partial = [f for _, _, files in os.walk(vmsd.volume) for f in files
                   if f.endswith(".partial")]
        assert partial == [], f"SIGTERM left open segments: {partial}"

        recorded = sum(r["end_us"] - r["start_us"] for r in rows) / 1e6
        wall = stopped - started
        # The first fragment started at most one fragment before it was
        # published; the wall clock also includes the shutdown itself.
        assert abs(recorded - wall) <= 1.0, (
            f"recorded {recorded:.2f} s over {wall:.2f} s of wall time")
        for a, b in zip(rows, rows[1:]):
            assert abs(b["start_us"] - a["end_us"]) <= 100_000, (
                f"segments not contiguous: {a['end_us']} -> {b['start_us']}")


if __name__ == "__main__":
    run([test_record_twenty_seconds])
