#!/usr/bin/env bash
# Builds frps and frpc from the Go module proxy at a pinned version and caches
# them by version. Prints the directory holding the two binaries as its last line.
#
#   scripts/build-frp.sh            # builds (or reuses) frp v0.70.1
#   FRP_VERSION=v0.70.1 scripts/build-frp.sh
#
# frp's go.mod carries a `replace` for yamux, so `go install …@version` refuses
# it; building inside the downloaded module applies frp's own go.mod and go.sum
# (checksums verified against the Go checksum database by `go mod download`).
# The `noweb` tag is frp's own (its Makefile): the dashboard assets are built by
# npm in frp's release and are not in the module; the API, /metrics and /healthz
# work without them.
set -euo pipefail

version="${FRP_VERSION:-v0.70.1}"
cache="${CDK8S_FRP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-frp/tools}"
out="$cache/frp-$version"

if [ -x "$out/frps" ] && [ -x "$out/frpc" ] && "$out/frps" --version 2>/dev/null | grep -qx "${version#v}"; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build-frp: Go is needed (go1.22 or newer)" >&2; exit 1; }
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/fatedier/frp@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-frp: could not download github.com/fatedier/frp@$version" >&2; exit 1; }

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.frp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "build-frp: building frps and frpc $version in $dir" >&2
(
  cd "$dir"
  export CGO_ENABLED=0 GOFLAGS=-mod=readonly
  go build -trimpath -ldflags '-s -w' -tags frps,noweb -o "$tmp/frps" ./cmd/frps
  go build -trimpath -ldflags '-s -w' -tags frpc,noweb -o "$tmp/frpc" ./cmd/frpc
)
mkdir -p "$out"
mv "$tmp/frps" "$tmp/frpc" "$out/"
"$out/frps" --version >&2
echo "$out"
