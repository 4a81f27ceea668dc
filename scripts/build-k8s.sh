#!/usr/bin/env bash
# Builds the test cluster's Kubernetes programs from the Go module proxy with the build
# module in scripts/k8s (pinned by its go.mod and go.sum) and caches them by that module's
# content (scripts/go-tools.sh): kube-apiserver, kubectl, kube-controller-manager and
# kube-scheduler, all of one version. Prints the directory holding them as its last line.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod points the k8s.io staging
# modules at ./staging, which the module zip lacks; scripts/k8s/go.mod replaces each
# with its v0.28 release (scripts/k8s-1.34/go.mod with its v0.34 one). Expect minutes per program and ~3 GiB of memory on 2 cores,
# once; the four share most packages, so the later ones take less.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/go-tools.sh"
# CDK8S_FRP_K8S_VERSION chooses the minor version: 1.28 (the default, the oldest the
# library supports; scripts/k8s) or one with a build module scripts/k8s-<minor>.
minor_version="${CDK8S_FRP_K8S_VERSION:-1.28}"
mod="$here/k8s"
[ "$minor_version" = 1.28 ] || mod="$here/k8s-$minor_version"
if [ ! -f "$mod/go.mod" ]; then
  echo "build-k8s: no build module for Kubernetes $minor_version (CDK8S_FRP_K8S_VERSION): 1.28$(cd "$here" && ls -d k8s-* 2>/dev/null | sed 's/^k8s-/, /' | tr -d '\n')" >&2
  exit 1
fi
version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$mod/go.mod")
# the version the binaries report (kubernetes' own build sets these; without them
# they say v0.0.0-master and `kubectl version` fails to parse the server's)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  minor=${version#v1.}
  ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
done
build_go_tools kubernetes "$mod" "$version" "$ldflags" \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kubectl=k8s.io/kubernetes/cmd/kubectl
