"""A camera that goes away and comes back: the stream goes to
'retrying' with the error, recording resumes within 10 s of the camera's
return, and the outage is listed as a gap."""

import time

from vmstest import Daemon, FakeCamera, run, wait_for, workspace


def test_camera_outage_and_return():
    with workspace("reconnect") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp, segment_seconds=4)
        try:
            cid = vmsd.add_camera("Dock", cam.url)
            vmsd.wait_state(cid, "streaming", 20)
            wait_for(lambda: len(vmsd.catalog_rows()) >= 1, 30,
                     what="a first segment")
            cam.stop()
            outage = time.time()
            state = vmsd.wait_state(cid, "retrying", 15)
            assert "camera" in state["error"] and state["error"], state
            time.sleep(3)

            back = time.time()
            cam = FakeCamera(tmp, name="camera-again", port=cam.port)
            resumed = wait_for(
                lambda: vmsd.stream(cid).get("state") == "streaming" and
                time.time(), 20, what="streaming again")
            # Recording resumes at the camera's first keyframe, which
            # the test footage sends every 4.8 s.
            assert resumed - back < 10, f"resumed after {resumed - back:.1f} s"
            assert vmsd.stream(cid)["reconnects"] >= 1

            rows = wait_for(
                lambda: [r for r in vmsd.catalog_rows()
                         if r["start_us"] > back * 1e6] or None,
                30, what="a segment recorded after the return")
            start = int((outage - 60) * 1e6)
            end = int(time.time() * 1e6)
            status, _, listing = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/recordings"
                       f"?from={start}&to={end}")
            assert status == 200, listing
            inner = [g for g in listing["gaps"]
                     if g["start_us"] > start and g["end_us"] < end]
            assert inner, f"no gap listed for the outage: {listing['gaps']}"
            gap = inner[0]
            assert gap["end_us"] - gap["start_us"] >= 3_000_000, gap
            assert rows
        finally:
            vmsd.stop()
            cam.stop()


if __name__ == "__main__":
    run([test_camera_outage_and_return])
