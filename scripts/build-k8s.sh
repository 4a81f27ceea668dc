#!/usr/bin/env bash
# Builds kube-apiserver and kubectl from the Go module proxy with the build module in
# scripts/k8s (pinned by its go.mod and go.sum) and caches them by that module's
# content. Prints the directory holding the two binaries as its last line.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod points the k8s.io staging
# modules at ./staging, which the module zip lacks; scripts/k8s/go.mod replaces each
# with its v0.28 release. Expect a few minutes and ~3 GiB of memory on 2 cores, once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/k8s"
version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$mod/go.mod")
# the version the binaries report (kubernetes' own build sets these; without them
# both say v0.0.0-master and `kubectl version` fails to parse the server's)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  minor=${version#v1.}
  ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
done
stamp=$( (cat "$mod/go.mod" "$mod/go.sum"; echo "$ldflags") | sha256sum | cut -c1-12)
cache="${CDK8S_FRP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-frp/tools}"
out="$cache/kubernetes-$version-$stamp"

if [ -x "$out/kube-apiserver" ] && [ -x "$out/kubectl" ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build-k8s: Go is needed (go1.24 or newer)" >&2; exit 1; }
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.kubernetes-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "build-k8s: building kube-apiserver and kubectl $version (a few minutes, once)" >&2
(
  cd "$mod"
  export CGO_ENABLED=0 GOFLAGS=-mod=readonly
  go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
)
mkdir -p "$out"
mv "$tmp/kube-apiserver" "$tmp/kubectl" "$out/"
echo "$out"
