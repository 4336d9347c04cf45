#!/bin/sh
# Installs what the browser tests in tests/browser need: Debian's
# chromium, firefox-esr, webkit2gtk-driver (WebKitGTK's WebDriver and
# MiniBrowser) and xvfb packages (with apt-get, as root, only when one is
# missing) and the pinned npm packages of tests/browser (npm
# ci): playwright-core and puppeteer-core, which download no browser of
# their own. Running it again when everything is in place takes about a
# second.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
browser_dir="$top/tests/browser"

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/firefox-esr ] || missing="$missing firefox-esr"
[ -x /usr/bin/WebKitWebDriver ] || missing="$missing webkit2gtk-driver"
[ -x /usr/bin/Xvfb ] || missing="$missing xvfb"
if [ -z "$missing" ]; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
    echo "firefox: $(/usr/bin/firefox-esr --version 2>/dev/null || echo present)"
    echo "webkit: $(dpkg-query -W -f '${Version}' webkit2gtk-driver 2>/dev/null || echo present)"
elif [ "$(id -u)" -eq 0 ]; then
    echo "browsers: installing Debian's$missing"
    apt-get update
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        $missing
else
    echo "error:$missing missing and this script is not running as root," \
         "so it cannot install them." >&2
    echo "Run 'sudo apt-get install$missing', or run this script as" \
         "root, then run it again." >&2
    exit 1
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not found: install Node.js 20 or later" \
             "(Debian packages nodejs and npm), then run this script again." >&2
        exit 1
    fi
done

# npm ci deletes and reinstalls node_modules on every run, so skip it
# when the installed tree already matches package-lock.json. npm writes
# node_modules/.package-lock.json after each install.
lock="$browser_dir/package-lock.json"
installed="$browser_dir/node_modules/.package-lock.json"
if [ -f "$installed" ] &&
   [ -d "$browser_dir/node_modules/playwright-core" ] &&
   [ -d "$browser_dir/node_modules/puppeteer-core" ] &&
   node -e '
       const fs = require("fs");
       const expected = JSON.parse(fs.readFileSync(process.argv[1])).packages;
       const actual = JSON.parse(fs.readFileSync(process.argv[2])).packages;
       for (const [name, locked] of Object.entries(expected)) {
           if (name === "") continue;
           const present = actual[name];
           if (!present || present.version !== locked.version ||
               present.integrity !== locked.integrity) process.exit(1);
       }
   ' "$lock" "$installed"; then
    echo "npm packages: already installed in $browser_dir/node_modules"
else
    echo "npm packages: running npm ci in $browser_dir"
    (cd "$browser_dir" && npm ci --no-audit --no-fund)
fi

echo "browser test dependencies are ready:" \
     "meson test -C BUILDDIR --suite browser"
