#!/bin/sh
# The release package: scripts/package.sh builds the .deb from its own
# build directory (prefix /usr). The test checks the package's files,
# its dependencies and checksum, and runs the packaged vmsctl on the
# packaged models after extracting the package into a temporary
# directory. Nothing is installed on the system.
# usage: run-package.sh SOURCE_ROOT WORK_DIR
set -u
src=$1
work=$2
pass=0
fail=0

check() {
    if eval "$2"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $1" >&2
    fi
}

rm -rf "$work/dist" "$work/root"
mkdir -p "$work"
nice -n 10 "$src/scripts/package.sh" "$work/build" "$work/dist" \
    >"$work/package.txt" 2>&1
status=$?
check "package.sh exits 0" '[ "$status" -eq 0 ]'
[ "$status" -eq 0 ] || cat "$work/package.txt" >&2
deb=$(ls "$work"/dist/vms_*_*.deb 2>/dev/null | head -n 1)
check "a .deb is written" '[ -f "$deb" ]'
[ -f "$deb" ] || {
    echo "$pass passed, $fail failed"
    exit 1
}

check "its checksum file matches" \
    '(cd "$work/dist" && sha256sum --check --quiet "$(basename "$deb").sha256")'
dpkg-deb --field "$deb" Package Depends >"$work/fields.txt"
check "package name" 'grep -q "^Package: vms$" "$work/fields.txt"'
check "depends on the linked libraries" \
    'grep -q "^Depends: .*libwebsockets.*libopenblas\|^Depends: .*libopenblas.*libwebsockets" "$work/fields.txt"'

dpkg-deb --contents "$deb" | awk '{print $6}' >"$work/contents.txt"
for file in ./usr/bin/vmsd ./usr/bin/vmsctl ./usr/share/vms/web/index.html \
    ./usr/share/vms/web/app.js ./usr/share/vms/models/MANIFEST.sha256 \
    ./usr/share/vms/models/centernet/LICENSE \
    ./usr/share/vms/models/centernet/centernet.json \
    ./usr/share/vms/models/centernet/centernet.bin \
    ./usr/share/vms/models/nanodet/LICENSE \
    ./usr/share/vms/models/nanodet/nanodet.json \
    ./usr/share/vms/models/nanodet/nanodet.bin \
    ./etc/vms/vms.conf.example ./usr/share/doc/vms/README.md; do
    check "package carries $file" 'grep -qx "$file" "$work/contents.txt"'
done
check "package carries nothing from the tests" \
    '! grep -q "test\|fake" "$work/contents.txt"'

dpkg-deb --extract "$deb" "$work/root"
models=$work/root/usr/share/vms/models
check "packaged models match the manifest" \
    '(cd "$models" && sha256sum --check --quiet --strict MANIFEST.sha256)'
check "packaged models match the repository's manifest" \
    'cmp -s "$models/MANIFEST.sha256" "$src/models/MANIFEST.sha256"'
"$work/root/usr/bin/vmsctl" detect --help >"$work/help.txt" 2>&1
check "detect looks in /usr/share/vms/models by default" \
    'grep -q "/usr/share/vms/models" "$work/help.txt"'
"$work/root/usr/bin/vmsctl" detect "$src/tests/data/images/dog.jpg" \
    --models "$models" >"$work/dog.txt" 2>&1
check "packaged vmsctl detects with packaged models" '[ $? -eq 0 ]'
check "it finds the dog" 'grep -q "class=dog " "$work/dog.txt"'
"$work/root/usr/bin/vmsd" --help >"$work/vmsd-help.txt" 2>&1
check "packaged vmsd runs" '[ $? -eq 0 ]'
check "packaged vmsd prints its usage" 'grep -q "usage: vmsd" "$work/vmsd-help.txt"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
