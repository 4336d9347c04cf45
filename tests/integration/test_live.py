"""Live view over WebSocket: a viewer receives the stream description,
the init segment and then fragments whose first sample is a keyframe,
within 2 s of connecting."""

import json
import os
import struct
import time

from vmstest import (Daemon, FakeCamera, WebSocket, first_frame_is_key, run,
                     wait_for, workspace)


def test_live_first_fragment_is_keyframe():
    with workspace("live") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            cid = vmsd.add_camera("Lobby", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            # A second keyframe has passed, so the viewer joins mid-GOP.
            wait_for(lambda: vmsd.stream(cid)["fragments"] > 12, 20,
                     what="fragments after the first GOP")

            start = time.monotonic()
            ws = WebSocket("127.0.0.1", vmsd.port,
                           f"/api/v1/cameras/{cid}/live?stream=main")
            opcode, header = ws.receive()
            assert opcode == 1, f"expected a text header, got opcode {opcode}"
            info = json.loads(header)
            assert info["mime"].startswith('video/mp4; codecs="avc1.'), info
            opcode, init = ws.receive()
            assert opcode == 2 and init[4:8] == b"ftyp", init[:16]
            opcode, fragment = ws.receive()
            elapsed = time.monotonic() - start
            assert opcode == 2 and fragment[4:8] == b"moof", fragment[:16]
            assert elapsed < 2.0, f"first fragment after {elapsed:.2f} s"

            more = b"".join(ws.receive()[1] for _ in range(5))
            ws.close()
            path = os.path.join(tmp, "live.mp4")
            with open(path, "wb") as f:
                f.write(init + fragment + more)
            assert first_frame_is_key(path), "first live sample is not a key"

            status, headers, jpeg = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/snapshot.jpg?width=320",
                raw=True)
            assert status == 200, jpeg[:200]
            assert headers.get("content-type") == "image/jpeg"
            assert jpeg[:3] == b"\xff\xd8\xff", "not a JPEG"
            # The SOF0 marker holds the height and width.
            sof = jpeg.find(b"\xff\xc0")
            height, width = struct.unpack(">HH", jpeg[sof + 5:sof + 9])
            assert (width, height) == (320, 180), (width, height)
            status, _, reply = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/snapshot.jpg?width=5")
            assert status == 400 and "invalid width" in reply["error"]

            status, _, _ = vmsd.request("GET", "/api/v1/status")
            assert status == 200
            assert vmsd.alive(), "vmsd died after the viewer left"
        finally:
            vmsd.stop()
            cam.stop()


def test_live_unknown_camera_rejected():
    with workspace("live-unknown") as tmp:
        vmsd = Daemon(tmp)
        try:
            try:
                WebSocket("127.0.0.1", vmsd.port, "/api/v1/cameras/99/live")
            except ConnectionError:
                pass
            else:
                raise AssertionError("WebSocket to an unknown camera opened")
            assert vmsd.alive()
        finally:
            vmsd.stop()


if __name__ == "__main__":
    run([test_live_first_fragment_is_keyframe,
         test_live_unknown_camera_rejected])
