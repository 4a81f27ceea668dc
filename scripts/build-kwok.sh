#!/usr/bin/env bash
# Builds KWOK (sigs.k8s.io/kwok, the fake nodes of the test cluster) from the Go module
# proxy with the build module in scripts/kwok (pinned by its go.mod and go.sum), cached
# by that module's content (scripts/go-tools.sh). Next to `kwok` it writes stages.yaml:
# the stages kwokctl gives a cluster by default (nodes initialize and heartbeat with a
# lease; pods become Ready and Running, complete, and go when deleted), read from the
# same kwok module (kustomize/stage, Apache-2.0). Prints the directory holding both as
# its last line. Needs Go 1.26 (kwok's go.mod); about 4 minutes on 2 idle cores, once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/go-tools.sh"
mod="$here/kwok"
version=$(sed -n 's/^\s*sigs.k8s.io\/kwok \(v[0-9.]*\).*/\1/p' "$mod/go.mod")
out=$(build_go_tools kwok "$mod" "$version" "-s -w" kwok=sigs.k8s.io/kwok/cmd/kwok | tail -1)
if [ ! -s "$out/stages.yaml" ]; then
  src=$(go_module_dir "$mod" sigs.k8s.io/kwok)
  [ -d "$src/kustomize/stage" ] || { echo "build-kwok: kwok $version's module has no kustomize/stage" >&2; exit 1; }
  {
    echo "# The default stages of kwokctl, from sigs.k8s.io/kwok $version kustomize/stage (Apache-2.0)"
    for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
      pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
      echo "---"
      cat "$src/kustomize/stage/$f.yaml"
    done
  } >"$out/.stages.yaml.tmp"
  mv "$out/.stages.yaml.tmp" "$out/stages.yaml"
fi
echo "$out"
