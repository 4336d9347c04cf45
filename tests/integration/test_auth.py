"""Camera credentials: wrong ones give a 'failed' state whose error
says 401 and names the camera; right ones (Digest) stream; credentials
are never returned by the API nor written to the log."""

from vmstest import Daemon, FakeCamera, run, workspace


def test_camera_credentials():
    with workspace("auth") as tmp:
        cam = FakeCamera(tmp, extra=["--user", "admin", "--password",
                                     "s3cret-pw", "--auth", "digest"])
        vmsd = Daemon(tmp)
        try:
            bad = vmsd.add_camera("Roof", cam.url, username="admin",
                                  password="wrong-pw")
            state = vmsd.wait_state(bad, "failed", 20)
            assert "401" in state["error"], state
            assert "Roof" in state["error"] and f"camera {bad}" in state["error"]

            url = cam.url.replace("rtsp://", "rtsp://admin:s3cret-pw@")
            good = vmsd.add_camera("Roof 2", url)
            vmsd.wait_state(good, "streaming", 20)

            status, _, body = vmsd.request("GET", f"/api/v1/cameras/{good}")
            assert status == 200
            assert body["main_url"] == cam.url, body["main_url"]
            assert body["username"] == "admin"
            assert body["password_set"] is True
            assert "password" not in body
            assert "s3cret-pw" not in str(body)
        finally:
            vmsd.stop()
            cam.stop()
        log = vmsd.output()
        assert "s3cret-pw" not in log and "wrong-pw" not in log, \
            "a camera password reached the log"


if __name__ == "__main__":
    run([test_camera_credentials])
