#!/usr/bin/env bash
# Installs the browser that the browser test (tests/browser/) drives: Debian's chromium.
#
# The test drives it with Playwright for Python but never lets Playwright download a
# browser of its own: it launches the system binary. So the only install step is the
# distribution package. As root (CI, a container) this installs it; otherwise it says how,
# and the browser test then skips with the same advice outside CI.
set -euo pipefail

CHROMIUM="${KMSLAB_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "install-browser: $CHROMIUM is present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if [ "$CHROMIUM" = /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    echo "install-browser: $("$CHROMIUM" --version)"
    exit 0
fi

cat <<MSG
install-browser: no browser at $CHROMIUM; this script installs Debian's chromium at
/usr/bin/chromium, and only as root with apt-get.
  Debian/Ubuntu:  sudo apt-get install chromium
  elsewhere:      install Chromium and set KMSLAB_CHROMIUM=/path/to/chromium
Without it, the browser test skips (and fails under CI=true).
MSG
if [ "${CI:-}" = "true" ]; then
    exit 1
fi
exit 0
