#!/bin/sh
# Runs the demo: the RTSP test camera serving the bundled footage and the
# daemon with that camera configured, on the embedded SQLite catalog.
# Prints the URL to open; Ctrl-C stops both. Data goes to ./demo/.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

port=${VMS_DEMO_PORT:-8080}
rtsp_port=${VMS_DEMO_RTSP_PORT:-8554}
mkdir -p demo/data
cat >demo/vms.conf <<CONF
listen = 127.0.0.1:$port
data_dir = $top/demo/data
volume = $top/demo/data/video
segment_seconds = 60
web_root = $top/web
CONF

if curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1; then
    echo "demo: port $port already answers (another demo or vmsd?); stop" \
        "it, or pick other ports with VMS_DEMO_PORT and VMS_DEMO_RTSP_PORT" >&2
    exit 1
fi

# The first run creates the administrator "admin" with a random password
# (kept in demo/admin-password, mode 0600) and an API key for this
# script. vmsd has no default password.
vmsctl="$build/src/vmsctl/vmsctl"
if [ ! -s demo/api.key ]; then
    umask 077
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' >demo/admin-password
    "$vmsctl" user add admin --admin --password-file demo/admin-password \
        --data-dir demo/data >/dev/null
    "$vmsctl" key add --user admin --name demo --data-dir demo/data \
        >demo/api.key
    umask 022
fi
auth="Authorization: Bearer $(cat demo/api.key)"

camera_pid=""
vmsd_pid=""
stop() {
    [ -n "$vmsd_pid" ] && kill "$vmsd_pid" 2>/dev/null && wait "$vmsd_pid"
    [ -n "$camera_pid" ] && kill "$camera_pid" 2>/dev/null
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

"$build/tests/fixtures/fake-camera/fake-camera" \
    --file tests/data/car-detection.mp4 --port "$rtsp_port" \
    >demo/camera.log 2>&1 &
camera_pid=$!
"$build/src/vmsd/vmsd" -c demo/vms.conf 2>demo/vmsd.log &
vmsd_pid=$!

# Wait for the API, then add the camera unless an earlier run did.
i=0
until curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 50 ] || ! kill -0 "$vmsd_pid" 2>/dev/null; then
        echo "demo: vmsd did not start; see demo/vmsd.log" >&2
        tail -5 demo/vmsd.log >&2
        exit 1
    fi
    sleep 0.2
done
if ! kill -0 "$vmsd_pid" 2>/dev/null; then
    echo "demo: vmsd exited; see demo/vmsd.log" >&2
    exit 1
fi
if ! curl -sf -H "$auth" "http://127.0.0.1:$port/api/v1/cameras" |
    grep -q '"id"'; then
    curl -sf -X POST -H "$auth" "http://127.0.0.1:$port/api/v1/cameras" \
        -d "{\"name\": \"Test camera\",
             \"main_url\": \"rtsp://127.0.0.1:$rtsp_port/main\"}" >/dev/null
fi

echo "demo: open http://127.0.0.1:$port/ in Chromium (Ctrl-C to stop)"
echo "demo: sign in as admin with the password $(cat demo/admin-password)" \
    "(also in demo/admin-password)"
echo "demo: logs in demo/vmsd.log and demo/camera.log"
wait "$vmsd_pid"
