#!/usr/bin/env bash
# Installs the real tools the test suite runs against, from Debian's packages:
#   haproxy             every generated haproxy.cfg is checked with `haproxy -c` and run on 127.0.0.1
#   nginx-light + libnginx-mod-stream   the UDP balancer config is checked and run on 127.0.0.1
#   prometheus          for `promtool check rules` / `promtool test rules`
#   etcd-server         the store of the test API server (scripts/test-cluster.sh)
#   systemd             `systemd-analyze verify` on the rendered frpc.service (client-bundle)
#   prometheus-nginx-exporter   plays the UDP balancer's exporter sidecar in the live harness
#   lua5.1              runs the Argo CD health check (argocd/health.lua) as Argo CD's Lua 5.1 would
#   wrk                 the load generator of `npm run bench:dataplane` (bench/dataplane.bench.ts)
# and builds the real programs from the Go module proxy (cached by version):
#   frps, frpc v0.70.1              scripts/build-frp.sh
#   kube-apiserver, kubectl, kube-controller-manager, kube-scheduler v1.28 and v1.34
#                                   scripts/build-k8s.sh (every version with a build
#                                   module: scripts/k8s, scripts/k8s-<minor>)
#   kwok v0.8.0 (fake nodes)        scripts/build-kwok.sh
#   cert-manager's controller v1.11.5   scripts/build-cert-manager.sh
# Safe to run again: installs only what is missing.
set -euo pipefail

need=()
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v prometheus-nginx-exporter >/dev/null 2>&1 || need+=(prometheus-nginx-exporter)
command -v lua5.1 >/dev/null 2>&1 || need+=(lua5.1)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
here="$(cd "$(dirname "$0")" && pwd)"
build_go_tools() {
  # each build in an assignment of its own: set -e ends the script when one fails (inside an
  # echo's argument, or left of &&, the failure would be lost)
  local dir module
  dir=$("$here/build-frp.sh")
  echo "install-tools: frp in $dir"
  dir=$("$here/build-k8s.sh")
  echo "install-tools: Kubernetes 1.28 in $dir"
  for module in "$here"/k8s-*/go.mod; do
    [ -e "$module" ] || continue
    module=$(basename "$(dirname "$module")")
    dir=$(CDK8S_FRP_K8S_VERSION="${module#k8s-}" "$here/build-k8s.sh")
    echo "install-tools: Kubernetes ${module#k8s-} in $dir"
  done
  dir=$("$here/build-kwok.sh")
  echo "install-tools: kwok in $dir"
  dir=$("$here/build-cert-manager.sh")
  echo "install-tools: cert-manager's controller in $dir"
}

if [ ${#need[@]} -eq 0 ]; then
  echo "install-tools: haproxy, promtool, nginx (stream) and etcd are present"
  build_go_tools
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-tools: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# --no-install-recommends keeps the Prometheus server's extras out; policy-rc.d
# keeps package scripts from starting daemons on this machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-tools: $(haproxy -v | head -1)"
echo "install-tools: $(promtool --version 2>&1 | head -1)"
echo "install-tools: $(nginx -v 2>&1)"
echo "install-tools: $(etcd --version 2>&1 | head -1)"
echo "install-tools: $(lua5.1 -v 2>&1 | head -1)"
build_go_tools
