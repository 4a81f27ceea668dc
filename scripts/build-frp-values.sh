#!/usr/bin/env bash
# Builds test/helpers/frp-values (what frp v0.70.1 itself makes of a config file:
# its own loader and validation, the secret-carrying values printed as hex) inside
# a copy of the frp module, so frp's own go.mod and go.sum apply (as for frps and
# frpc in scripts/build-frp.sh). Cached by frp version and the tool's source hash.
# Prints the path of the binary as its last line.
set -euo pipefail

version="${FRP_VERSION:-v0.70.1}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
src="$repo/test/helpers/frp-values/main.go"
cache="${CDK8S_FRP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-frp/tools}"
out="$cache/frp-values-$version-$(sha256sum "$src" | cut -c1-12)"

if [ -x "$out/frp-values" ]; then
  echo "$out/frp-values"
  exit 0
fi

command -v go >/dev/null || { echo "build-frp-values: Go is needed (go1.22 or newer)" >&2; exit 1; }
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/fatedier/frp@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-frp-values: could not download github.com/fatedier/frp@$version" >&2; exit 1; }

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.frp-values-XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -r "$dir" "$tmp/src"
chmod -R u+w "$tmp/src"
mkdir -p "$tmp/src/cmd/frp-values"
cp "$src" "$tmp/src/cmd/frp-values/main.go"
echo "build-frp-values: building frp-values against frp $version" >&2
(
  cd "$tmp/src"
  export CGO_ENABLED=0 GOFLAGS=-mod=readonly
  go build -trimpath -ldflags '-s -w' -o "$tmp/frp-values" ./cmd/frp-values
)
mkdir -p "$out"
mv "$tmp/frp-values" "$out/"
echo "$out/frp-values"
