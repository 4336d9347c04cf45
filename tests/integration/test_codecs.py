"""Codecs and transports: an H.265 camera is recorded as H.265 and its
segments decode; RTP over UDP records like TCP; a camera without audio
records video only."""

import os
import subprocess

from vmstest import (FOOTAGE, FOOTAGE_NO_AUDIO, Daemon, FakeCamera,
                     decode_errors, run, wait_for, workspace)


def codec_of(path):
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height", "-of", "csv=p=0", path],
        capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip()


def record_one_segment(tmp, cam_url, **fields):
    vmsd = Daemon(tmp, segment_seconds=3)
    try:
        cid = vmsd.add_camera("Cam", cam_url, **fields)
        state = vmsd.wait_state(cid, "streaming", 20)
        rows = wait_for(lambda: vmsd.catalog_rows(), 30,
                        what="a closed segment")
        return state, [os.path.join(r["volume"], r["path"]) for r in rows]
    finally:
        vmsd.stop()


def test_h265_camera_recorded_as_h265():
    with workspace("h265") as tmp:
        clip = os.path.join(tmp, "h265.mp4")
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", FOOTAGE, "-t", "8",
             "-an", "-c:v", "libx265", "-preset", "ultrafast",
             "-x265-params", "keyint=12:min-keyint=12:log-level=error",
             "-tag:v", "hvc1", clip], check=True, timeout=120)
        cam = FakeCamera(tmp, footage=clip)
        try:
            state, files = record_one_segment(tmp, cam.url)
        finally:
            cam.stop()
        assert state["codec"].startswith("hvc1."), state
        assert state["has_audio"] is False
        assert codec_of(files[0]) == "hevc,768,432", codec_of(files[0])
        assert decode_errors(files[0]) == "", decode_errors(files[0])


def test_udp_transport_records():
    with workspace("udp") as tmp:
        cam = FakeCamera(tmp)
        try:
            state, files = record_one_segment(tmp, cam.url, transport="udp")
        finally:
            cam.stop()
        assert state["codec"].startswith("avc1."), state
        assert decode_errors(files[0]) == "", decode_errors(files[0])


def test_camera_without_audio():
    with workspace("noaudio") as tmp:
        cam = FakeCamera(tmp, footage=FOOTAGE_NO_AUDIO)
        try:
            state, files = record_one_segment(tmp, cam.url)
        finally:
            cam.stop()
        assert state["has_audio"] is False and "mp4a" not in state["codec"]
        assert codec_of(files[0]) == "h264,768,432"
        assert decode_errors(files[0]) == "", decode_errors(files[0])


if __name__ == "__main__":
    run([test_h265_camera_recorded_as_h265, test_udp_transport_records,
         test_camera_without_audio])
