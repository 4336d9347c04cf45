#!/bin/bash
# WS-Discovery end to end, inside two network namespaces that this script
# creates and removes: "client" (10.231.0.1) and "cameras" (10.231.0.2-5),
# joined by one veth pair. No packet touches the machine's own
# interfaces. Needs root and iproute2; exits 77 (skipped) without them.
#
# Cameras: A replies from 10.231.0.2 and 10.231.0.4 under one endpoint
# reference and also announces a link-local XAddr; B runs 20 minutes
# ahead. The client must find both with one multicast probe, merged by
# endpoint, then probe each over SOAP. A third camera C then starts with
# Hello and stops with Bye while the client listens. Last, camera D
# speaks only IPv6 (discovery on ff02::c and SOAP) and must be found and
# probed over IPv6.
#
# usage: test_discovery_netns.sh DISCOVERY_CHECK FAKE_ONVIF
set -u

check=$1
fake=$2

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "skipped: needs root and the ip command (iproute2)"
    exit 77
fi

ns_client=vmsonvif-c-$$
ns_cameras=vmsonvif-d-$$
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    ip netns del "$ns_client" 2>/dev/null
    ip netns del "$ns_cameras" 2>/dev/null
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ip netns add "$ns_client" || fail "cannot create namespace $ns_client"
ip netns add "$ns_cameras" || fail "cannot create namespace $ns_cameras"
# The veth pair is created inside the client namespace and its peer is
# moved straight into the camera namespace.
# Without duplicate address detection the IPv6 addresses work at once.
for ns in "$ns_client" "$ns_cameras"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_dad=0 || fail "cannot set sysctl in $ns"
done
ip -n "$ns_client" link add vc0 type veth peer name vd0 \
    netns "$ns_cameras" || fail "cannot create the veth pair"
ip -n "$ns_client" addr add 10.231.0.1/24 dev vc0
ip -n "$ns_cameras" addr add 10.231.0.2/24 dev vd0
ip -n "$ns_cameras" addr add 10.231.0.3/24 dev vd0
ip -n "$ns_cameras" addr add 10.231.0.4/24 dev vd0
ip -n "$ns_cameras" addr add 10.231.0.5/24 dev vd0
ip -n "$ns_client" addr add fd00:231::1/64 dev vc0 nodad
ip -n "$ns_cameras" addr add fd00:231::5/64 dev vd0 nodad
for ns in "$ns_client" "$ns_cameras"; do
    ip -n "$ns" link set lo up
done
ip -n "$ns_client" link set vc0 up
ip -n "$ns_cameras" link set vd0 up
ip -n "$ns_client" route add 224.0.0.0/4 dev vc0
ip -n "$ns_cameras" route add 224.0.0.0/4 dev vd0

# Starts a fake camera in the camera namespace; waits for its port line.
start_camera() {
    local out log
    out=$(mktemp)
    log=$(mktemp)
    ip netns exec "$ns_cameras" "$fake" --port 8080 \
        --username admin --password s3cret "$@" >"$out" 2>"$log" &
    pids+=($!)
    for _ in $(seq 50); do
        grep -q '^port=' "$out" && break
        sleep 0.1
    done
    if ! grep -q '^port=' "$out"; then
        cat "$log" >&2
        rm -f "$out" "$log"
        fail "fake camera did not start: $*"
    fi
    rm -f "$out" "$log"
}

uuid_a=urn:uuid:0a0a0a0a-0000-4000-8000-00000000000a
uuid_b=urn:uuid:0b0b0b0b-0000-4000-8000-00000000000b
uuid_c=urn:uuid:0c0c0c0c-0000-4000-8000-00000000000c

start_camera --bind 10.231.0.2 --discovery 10.231.0.2 --uuid "$uuid_a" \
    --name "Gate Camera" --hardware FAKE-A --location "site/north gate" \
    --extra-xaddr http://169.254.7.7/onvif/device_service
start_camera --bind 10.231.0.4 --discovery 10.231.0.4 --uuid "$uuid_a" \
    --name "Gate Camera" --hardware FAKE-A --location "site/north gate"
start_camera --bind 10.231.0.3 --discovery 10.231.0.3 --uuid "$uuid_b" \
    --name "Yard Camera" --hardware FAKE-B --clock-offset 1200

ip netns exec "$ns_client" "$check" probe vc0 || fail "probe checks"

# Hello and Bye: the listener starts first, then camera C comes and goes.
listen_out=$(mktemp)
ip netns exec "$ns_client" "$check" listen vc0 "$uuid_c" 10 \
    >"$listen_out" 2>&1 &
listener=$!
pids+=($listener)
for _ in $(seq 50); do
    grep -q '^listening' "$listen_out" && break
    sleep 0.1
done
start_camera --bind 10.231.0.5 --discovery 10.231.0.5 \
    --uuid "$uuid_c" --name "Door Camera" --hello
camera_c=${pids[-1]}
sleep 0.5
kill "$camera_c"
wait "$listener"
status=$?
cat "$listen_out"
rm -f "$listen_out"
[ "$status" = 0 ] || fail "Hello/Bye checks"

uuid_d=urn:uuid:0d0d0d0d-0000-4000-8000-00000000000d
start_camera --bind fd00:231::5 --discovery fd00:231::5 --uuid "$uuid_d" \
    --name "Lobby Camera"
ip netns exec "$ns_client" "$check" probe6 vc0 "$uuid_d" ||
    fail "IPv6 probe checks"
echo "PASS"
