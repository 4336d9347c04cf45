"""HTTP Live Streaming of live video: the LL-HLS playlist, its parts and
segments (the hub's fragment bytes, not re-muxed), blocking playlist
reloads, the preload hint, input checks, and the snapshot cache."""

import os
import re
import struct
import threading
import time

from vmstest import (Daemon, FakeCamera, decode_errors, first_frame_is_key,
                     run, wait_for, workspace)


def get(vmsd, path):
    """Returns (status, headers, body bytes, seconds taken)."""
    start = time.monotonic()
    status, headers, body = vmsd.request("GET", path, raw=True)
    return status, headers, body, time.monotonic() - start


def parse_playlist(text):
    """Returns the playlist's media sequence, segments [(msn, uri)],
    parts [(msn, index, uri)] and preload hint URI."""
    msn = int(re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", text, re.M)[1])
    segments = []
    parts = []
    current = msn
    index = 0
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            parts.append((current, index, re.search(r'URI="([^"]+)"',
                                                    line)[1]))
            index += 1
        elif line.startswith("seg/"):
            segments.append((current, line))
            current += 1
            index = 0
    hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text)[1]
    return msn, segments, parts, hint


def test_hls_playlist_parts_segments():
    with workspace("live-hls") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            cid = vmsd.add_camera("Yard", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            base = f"/api/v1/cameras/{cid}/hls/"

            # The first request of a window waits for its first complete
            # segment (one GOP: 4.8 s in the test clip).
            status, headers, body, took = get(vmsd, base +
                                              "index.m3u8?stream=main")
            assert status == 200, body[:300]
            assert took < 12, f"first playlist after {took:.1f} s"
            assert headers["content-type"] == "application/vnd.apple.mpegurl"
            text = body.decode()
            for tag in ("#EXTM3U", "#EXT-X-TARGETDURATION:5",
                        "#EXT-X-PART-INF:PART-TARGET=0.250",
                        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES",
                        "#EXT-X-MAP:URI=\"init.mp4?stream=main&generation=",
                        "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-PRELOAD-HINT"):
                assert tag in text, f"{tag} missing from:\n{text}"
            msn, segments, parts, hint = parse_playlist(text)
            assert segments, text

            # A segment's bytes are its parts' bytes, unchanged.
            seg_msn, seg_uri = segments[-1]
            status, _, segment, _ = get(vmsd, base + seg_uri)
            assert status == 200
            joined = b""
            for part_msn, _, uri in parts:
                if part_msn == seg_msn:
                    status, _, data, _ = get(vmsd, base + uri)
                    assert status == 200, uri
                    assert data[4:8] == b"moof", data[:16]
                    joined += data
            assert joined == segment, "segment differs from its parts"

            # The init segment and a segment decode cleanly and start
            # with a keyframe.
            status, _, init, _ = get(vmsd, base + "init.mp4?stream=main")
            assert status == 200, init[:200]
            assert init[4:8] == b"ftyp", init[:16]
            path = os.path.join(tmp, "hls.mp4")
            with open(path, "wb") as f:
                f.write(init + segment)
            assert decode_errors(path) == ""
            assert first_frame_is_key(path)

            # The preload hint names the next part: the request waits
            # for it and gets it within about one fragment.
            status, _, data, took = get(vmsd, base + hint)
            assert status == 200, data[:200]
            assert data[4:8] == b"moof"
            assert took < 1.5, f"preload hint part after {took:.2f} s"

            # A blocking reload for the next part returns once it exists.
            status, _, body, _ = get(vmsd, base + "index.m3u8?stream=main")
            _, segments, parts, hint = parse_playlist(body.decode())
            last_msn, last_index, _ = parts[-1]
            status, _, body, took = get(
                vmsd, base + f"index.m3u8?stream=main&_HLS_msn={last_msn}"
                f"&_HLS_part={last_index + 1}")
            assert status == 200
            _, _, new_parts, _ = parse_playlist(body.decode())
            assert any((m, i) > (last_msn, last_index)
                       for m, i, _ in new_parts), body.decode()
            assert took < 1.5, f"blocking reload took {took:.2f} s"

            # A blocking reload for the next segment waits about a GOP.
            next_msn = segments[-1][0] + 1
            status, _, body, took = get(
                vmsd, base + f"index.m3u8?stream=main&_HLS_msn={next_msn}")
            assert status == 200
            _, new_segments, _, _ = parse_playlist(body.decode())
            assert new_segments[-1][0] >= next_msn, body.decode()

            stats = vmsd.request("GET",
                                 f"/api/v1/cameras/{cid}/live/viewers")[2]
            hls = stats["hls"][0]
            assert hls["blocked_reloads"] >= 2, hls
            assert hls["timeouts"] == 0, hls
            assert hls["parts"] > 0, hls
        finally:
            vmsd.stop()
            cam.stop()


def test_hls_rejects_bad_requests():
    with workspace("live-hls-bad") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            cid = vmsd.add_camera("Gate", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            base = f"/api/v1/cameras/{cid}/hls/"
            assert get(vmsd, base + "index.m3u8")[0] == 200
            cases = [
                ("index.m3u8?stream=side", 400, "invalid stream 'side'"),
                ("index.m3u8?_HLS_part=1", 400, "_HLS_part needs _HLS_msn"),
                ("index.m3u8?_HLS_msn=-1", 400, "invalid _HLS_msn"),
                ("index.m3u8?_HLS_msn=1&_HLS_part=x", 400,
                 "invalid _HLS_part"),
                ("index.m3u8?_HLS_msn=999999", 400, "more than two segments"),
                ("part/abc.m4s", 400, "invalid part name"),
                ("part/1.mp4", 400, "invalid part name"),
                ("part/999999999.m4s", 404, "not in the live window"),
                ("seg/x.m4s", 400, "invalid segment name"),
                ("seg/999999.m4s", 404, "not in the live window"),
                ("init.mp4?generation=abc", 400, "invalid generation"),
                ("init.mp4?generation=77", 404, "of that generation"),
                ("playlist.txt", 404, "unknown HLS resource"),
            ]
            for path, expected, message in cases:
                status, _, body = vmsd.request("GET", base + path)
                assert status == expected, (path, status, body)
                assert message in body["error"], (path, body)
            status, _, body = vmsd.request(
                "GET", "/api/v1/cameras/77/hls/index.m3u8")
            assert status == 404, body
            assert "camera 77 not found" in body["error"], body
            assert vmsd.alive()
        finally:
            vmsd.stop()
            cam.stop()


def jpeg_size(jpeg):
    """Returns (width, height) from the JPEG's SOF0 marker."""
    sof = jpeg.find(b"\xff\xc0")
    height, width = struct.unpack(">HH", jpeg[sof + 5:sof + 9])
    return width, height


def test_snapshot_cache_decodes_once():
    with workspace("live-snapshot") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            cid = vmsd.add_camera("Hall", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            wait_for(lambda: vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/snapshot.jpg", raw=True)[0]
                == 200, 10, what="a first snapshot")
            results = []

            def fetch(width):
                suffix = f"?width={width}" if width else ""
                results.append((width, vmsd.request(
                    "GET", f"/api/v1/cameras/{cid}/snapshot.jpg{suffix}",
                    raw=True)))

            start = time.monotonic()
            threads = [threading.Thread(target=fetch, args=(w,))
                       for w in [0, 320, 640] * 10]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.monotonic() - start
            for width, (status, headers, jpeg) in results:
                assert status == 200, jpeg[:200]
                assert headers["content-type"] == "image/jpeg"
                expected = {0: (768, 432), 320: (320, 180),
                            640: (640, 360)}[width]
                assert jpeg_size(jpeg) == expected, (width, jpeg_size(jpeg))
            report = vmsd.request("GET",
                                  f"/api/v1/cameras/{cid}/live/stats")[2]
            snap = report["snapshots"]
            assert snap["requests"] >= 31, snap
            # At most one decode per second of the burst, plus the first.
            assert snap["decodes"] <= 2 + int(took), (snap, took)
            assert snap["scales"] <= 2 * (2 + int(took)), (snap, took)
        finally:
            vmsd.stop()
            cam.stop()


if __name__ == "__main__":
    run([test_hls_playlist_parts_segments, test_hls_rejects_bad_requests,
         test_snapshot_cache_decodes_once])
