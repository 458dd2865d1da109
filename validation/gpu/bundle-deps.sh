#!/usr/bin/env bash
# Run on a Debian 12 machine (this project's development machine): downloads the Debian
# packages that validation/gpu/run.sh needs but a GPU node without a package registry lacks
# (Google Benchmark, nlohmann/json) and unpacks them under validation/gpu/deps/ (ignored by
# git). Copy that folder along with the checkout; run.sh finds it there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$here/deps" && mkdir -p "$here/deps/debs"
cd "$here/deps/debs"
apt-get download libbenchmark-dev libbenchmark1debian nlohmann-json3-dev
for deb in *.deb; do dpkg -x "$deb" "$here/deps"; done
echo "unpacked into $here/deps: $(ls "$here/deps/debs" | tr '\n' ' ')"
