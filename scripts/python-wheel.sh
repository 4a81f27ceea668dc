#!/usr/bin/env bash
# Builds the jsii Python wheel (npx projen package:python: jsii, then
# jsii-pacmak) and installs it into a venv; prints the venv's python. The venv
# and its dependencies from PyPI (jsii, cdk8s, cdk8s-plus-28, constructs) are
# cached in ~/.cache/cdk8s-frp/python-venv; only the wheel is reinstalled.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CDK8S_FRP_CACHE:-$HOME/.cache/cdk8s-frp}/python-venv"
python="${PYTHON:-python3.11}"
cd "$root"
rm -rf dist-pkg/python
npx projen compile >/dev/null
npx projen package:python >/dev/null
wheel="$(ls dist-pkg/python/*.whl | head -1)"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$wheel"
fi
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
# dependencies the wheel asks for that the cached venv lacks (a new version)
"$venv/bin/pip" install -q --disable-pip-version-check "$wheel"
echo "$venv/bin/python"
