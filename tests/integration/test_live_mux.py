"""One WebSocket carrying several streams (/api/v1/live?streams=...).
Each message starts with a channel byte and a kind byte. Each channel
gets its description and init segment before its first fragment, which
starts with a keyframe. The viewer statistics name every channel, and
a stream's totals keep the viewers that left."""

import json
import os
import time

from vmstest import (FOOTAGE_NO_AUDIO, Daemon, FakeCamera, WebSocket,
                     first_frame_is_key, run, wait_for, workspace)

KIND_JSON, KIND_INIT, KIND_FRAGMENT = 0, 1, 2


def test_mux_carries_main_and_sub():
    with workspace("live-mux") as tmp:
        cam = FakeCamera(tmp, extra=("--sub-mount", "/sub", "--sub-file",
                                     FOOTAGE_NO_AUDIO))
        vmsd = Daemon(tmp)
        try:
            cid = vmsd.add_camera("Lobby", cam.url,
                                  sub_url=cam.url.replace("/main", "/sub"))
            vmsd.wait_state(cid, "streaming", 20)
            wait_for(lambda: vmsd.stream(cid, "sub").get("state") ==
                     "streaming", 20, what="the sub stream")

            start = time.monotonic()
            ws = WebSocket("127.0.0.1", vmsd.port,
                           f"/api/v1/live?streams={cid}:sub,{cid}:main")
            seen = {0: [], 1: []}
            first_fragment = {}
            data = {0: b"", 1: b""}
            while min(len(v) for v in seen.values()) < 6:
                opcode, message = ws.receive()
                assert opcode == 2, f"expected binary messages, got {opcode}"
                channel, kind = message[0], message[1]
                assert channel in seen, f"unknown channel {channel}"
                seen[channel].append(kind)
                if kind == KIND_JSON:
                    info = json.loads(message[2:])
                    assert info["channel"] == channel, info
                    assert info["camera"] == cid, info
                    assert info["stream"] == ("sub", "main")[channel], info
                    assert info["mime"].startswith('video/mp4; codecs="avc1.')
                    assert info["width"] == 768, info
                elif kind == KIND_INIT:
                    assert message[6:10] == b"ftyp", message[:16]
                    data[channel] += message[2:]
                else:
                    assert kind == KIND_FRAGMENT, kind
                    start_us = int.from_bytes(message[2:10], "big")
                    lag = time.time() - start_us / 1e6
                    assert 0 <= lag < 5, f"fragment {lag:.2f} s old"
                    assert message[14:18] == b"moof", message[:24]
                    first_fragment.setdefault(channel,
                                              time.monotonic() - start)
                    data[channel] += message[10:]
            for channel, kinds in seen.items():
                assert kinds[:3] == [KIND_JSON, KIND_INIT, KIND_FRAGMENT], (
                    channel, kinds)
                assert first_fragment[channel] < 2.0, first_fragment
                path = os.path.join(tmp, f"channel{channel}.mp4")
                with open(path, "wb") as f:
                    f.write(data[channel])
                assert first_frame_is_key(path), f"channel {channel}"

            status, _, report = vmsd.request(
                "GET", f"/api/v1/cameras/{cid}/live/viewers")
            assert status == 200, report
            (viewer,) = report["viewers"]
            assert viewer["protocol"] == "multiplexed", viewer
            assert [c["stream"] for c in viewer["channels"]] == ["sub",
                                                                 "main"]
            for ch in viewer["channels"]:
                assert ch["fragments_sent"] >= 4, ch
                assert ch["fragments_skipped"] == 0, ch
                assert ch["bytes_sent"] > 0, ch
                assert 0 < ch["delivery_p50_us"] <= ch["delivery_p99_us"], ch
                assert ch["age_p50_us"] >= ch["delivery_p50_us"], ch
            ws.close()

            # The stream's totals keep the viewer after it left.
            def closed_totals():
                report = vmsd.request(
                    "GET", f"/api/v1/cameras/{cid}/live/stats")[2]
                main = report["streams"].get(f"{cid}:main", {})
                return (not report["viewers"] and
                        main.get("viewers_total") == 1 and main)
            main = wait_for(closed_totals, 5, what="the viewer to close")
            assert main["viewers"] == 0, main
            assert main["fragments_sent"] >= 4, main
            assert "viewer=1 camera=%d stream=sub channel=0 " \
                   "event=viewer_close" % cid in vmsd.output()
        finally:
            vmsd.stop()
            cam.stop()


def test_mux_rejects_bad_lists():
    with workspace("live-mux-bad") as tmp:
        cam = FakeCamera(tmp)
        vmsd = Daemon(tmp)
        try:
            cid = vmsd.add_camera("Gate", cam.url)
            too_many = ",".join([str(cid)] * 17)
            for query in ["", "streams=", f"streams={cid}:side",
                          "streams=99:main", f"streams={cid}:sub",
                          f"streams={cid}x{cid}", f"streams={too_many}",
                          "streams=-1"]:
                try:
                    WebSocket("127.0.0.1", vmsd.port,
                              f"/api/v1/live?{query}").close()
                except ConnectionError:
                    continue
                raise AssertionError(f"WebSocket with ?{query} opened")
            # 16 channels is the maximum; the per-camera endpoint works.
            ws = WebSocket("127.0.0.1", vmsd.port,
                           "/api/v1/live?streams=" + ",".join([str(cid)] * 16))
            ws.close()
            ws = WebSocket("127.0.0.1", vmsd.port,
                           f"/api/v1/cameras/{cid}/live?stream=main")
            ws.close()
            assert vmsd.alive()
        finally:
            vmsd.stop()
            cam.stop()


if __name__ == "__main__":
    run([test_mux_carries_main_and_sub, test_mux_rejects_bad_lists])
