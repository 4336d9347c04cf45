"""Playback: a range spanning two segments comes back as one MP4 with
no timestamp gap larger than one frame, and HTTP Range works on it."""

import os
import time

from vmstest import (Daemon, FakeCamera, decode_errors, run, video_packets,
                     wait_for, workspace)


def test_playback_across_two_segments():
    with workspace("playback") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp, segment_seconds=4)
        try:
            cid = vmsd.add_camera("Yard", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            rows = wait_for(lambda: len(r := vmsd.catalog_rows()) >= 2 and r,
                            40, what="two closed segments")
            first, second = rows[0], rows[1]
            # From inside the first segment to inside the second.
            start = first["start_us"] + 1_000_000
            end = second["start_us"] + 2_000_000
            query = f"from={start}&to={end}&stream=main"

            status, _, listing = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/recordings?{query}")
            assert status == 200, listing
            assert len(listing["recordings"]) >= 2, listing
            assert listing["gaps"] == [], listing["gaps"]

            path = f"/api/v1/cameras/{cid}/playback.mp4?{query}"
            status, headers, body = vmsd.request("GET", path, raw=True)
            assert status == 200, body[:200]
            assert headers.get("content-type") == "video/mp4", headers
            assert headers.get("accept-ranges") == "bytes", headers
            out = os.path.join(tmp, "range.mp4")
            with open(out, "wb") as f:
                f.write(body)
            assert decode_errors(out) == "", decode_errors(out)

            packets = video_packets(out)
            assert packets[0][2], "playback does not start at a keyframe"
            times = sorted(p[0] for p in packets)
            frame = 1 / 12.5
            worst = max(b - a for a, b in zip(times, times[1:]))
            assert worst <= frame * 1.5, f"timestamp gap of {worst:.3f} s"
            covered = times[-1] - times[0] + frame
            wanted = (end - start) / 1e6
            # The export starts at the keyframe at or before 'from'.
            assert covered >= wanted - frame, (covered, wanted)

            total = len(body)
            status, headers, part = vmsd.request(
                "GET", path, headers={"Range": "bytes=100-1099"}, raw=True)
            assert status == 206, status
            assert part == body[100:1100], "Range returned other bytes"
            assert headers.get("content-range") == f"bytes 100-1099/{total}"
            status, _, tail = vmsd.request(
                "GET", path, headers={"Range": "bytes=-500"}, raw=True)
            assert status == 206 and tail == body[-500:]
            status, headers, _ = vmsd.request(
                "GET", path, headers={"Range": f"bytes={total + 10}-"},
                raw=True)
            assert status == 416, status
        finally:
            vmsd.stop()
            cam.stop()


if __name__ == "__main__":
    run([test_playback_across_two_segments])
