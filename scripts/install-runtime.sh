#!/usr/bin/env bash
# Installs the packed package (`npm pack`: package.json's `files` is the one list of what ships) into DEST with
# its production dependencies at the lockfile's versions, then removes what a linux/ARCH runtime never loads:
# node-rdkafka's build tree (librdkafka's sources and objects, ~466 MB; the addon and the two shared libraries it
# links stay) and onnxruntime-node's binaries for other platforms (darwin, win32, the other linux arch, ~220 MB).
# The Dockerfile's runtime layer is exactly DEST; the packed-package test and the size measurement use it too.
#
#   scripts/install-runtime.sh rsu-edge-X.Y.Z.tgz package-lock.json DEST [ARCH] [--no-native-build]
#
# ARCH: x64 or arm64 (default: this machine's). --no-native-build skips compiling librdkafka (about 2 minutes;
# the Kafka uplink then cannot load): for the test, which runs no Kafka, and for measuring another arch's size.
set -euo pipefail
build=1 args=()
for a in "$@"; do if [ "$a" = --no-native-build ]; then build=0; else args+=("$a"); fi; done
[ "${#args[@]}" -ge 3 ] || { echo "usage: install-runtime.sh TARBALL LOCKFILE DEST [x64|arm64] [--no-native-build]" >&2; exit 2; }
tarball=$(realpath "${args[0]}"); lock=$(realpath "${args[1]}"); dest=${args[2]}; arch=${args[3]:-$(node -p process.arch)}
case "$arch" in x64|arm64) ;; *) echo "install-runtime: ARCH must be x64 or arm64, got '$arch'" >&2; exit 2;; esac

mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest" --strip-components=1
cp "$lock" "$dest/package-lock.json"
cd "$dest"
# --ignore-scripts: the package's own `prepare` (a build from sources) must not run; dist/ is in the tarball.
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
if [ "$build" = 1 ]; then npm rebuild node-rdkafka --loglevel=error; fi

k=node_modules/node-rdkafka
if [ -d "$k" ]; then
  find "$k" -mindepth 1 -maxdepth 1 ! -name package.json ! -name lib ! -name build ! -name 'librdkafka.js' \
    ! -name '*.d.ts' ! -name LICENSE.txt ! -name README.md -exec rm -rf {} +
  if [ -d "$k/build" ]; then
    find "$k/build" -mindepth 1 -maxdepth 1 ! -name Release ! -name deps -exec rm -rf {} +
    find "$k/build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} + 2>/dev/null || true
    [ -d "$k/build/deps" ] && find "$k/build/deps" -mindepth 1 ! -name 'librdkafka.so.1' ! -name 'librdkafka++.so.1' -exec rm -rf {} +
  fi
fi
o=node_modules/onnxruntime-node/bin/napi-v6
if [ -d "$o" ]; then
  find "$o" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  find "$o/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} +
fi
