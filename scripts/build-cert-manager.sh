#!/usr/bin/env bash
# Builds cert-manager's controller (the one that issues Certificates) and its cainjector
# (fills caBundle of webhook configurations annotated cert-manager.io/inject-ca-from; no
# webhook) from the Go module proxy with the build module in scripts/cert-manager
# (pinned by its go.mod and go.sum), cached by that module's content
# (scripts/go-tools.sh), and next to it the CRDs it needs beyond crds/ (crds.yaml, from
# the same module, Apache-2.0). Prints the directory holding both as its last line.
#
# v1.11.5 is the newest release whose module the Go module proxy serves with
# cmd/controller inside (later ones keep it in a nested module the proxy lacks). Its
# API is cert-manager.io/v1, as the CRDs in crds/. About 4 minutes on 2 idle cores, once (the cainjector as much again).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/go-tools.sh"
mod="$here/cert-manager"
version=$(sed -n 's/^\s*github.com\/cert-manager\/cert-manager \(v[0-9.]*\).*/\1/p' "$mod/go.mod")
out=$(build_go_tools cert-manager "$mod" "$version" \
  "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$version" \
  cert-manager-controller=github.com/cert-manager/cert-manager/cmd/controller \
  cert-manager-cainjector=github.com/cert-manager/cert-manager/cmd/cainjector | tail -1)
# The CRDs the controller watches that the library does not render (crds/ has those it
# does): CertificateRequest, and ACME's Order and Challenge. v1.11.5 keeps them as Helm
# templates; only their labels are templated, filled here as `helm template` would.
if [ ! -s "$out/crds.yaml" ]; then
  src=$(go_module_dir "$mod" github.com/cert-manager/cert-manager)
  for f in certificaterequests orders challenges; do
    echo "---"
    sed -e "s/'{{ template \"cert-manager.name\" . }}'/cert-manager/; s/'{{ .Release.Name }}'/cert-manager/" \
      -e '/# Generated labels/d' "$src/deploy/crds/crd-$f.yaml"
  done >"$out/.crds.yaml.tmp"
  if grep -q '{{' "$out/.crds.yaml.tmp"; then
    echo "build-cert-manager: a Helm template is left in $version's CRDs" >&2
    exit 1
  fi
  mv "$out/.crds.yaml.tmp" "$out/crds.yaml"
fi
echo "$out"
