#!/usr/bin/env bash
# A real Kubernetes API server on 127.0.0.1 for the tests and for users: etcd and
# kube-apiserver v1.28 (scripts/build-k8s.sh), no controllers and no nodes.
#
#   scripts/test-cluster.sh start          start it (or reuse the running one); prints the
#                                          kubeconfig path as its last line
#   scripts/test-cluster.sh kubectl ARGS   the matching kubectl against it
#   scripts/test-cluster.sh kubeconfig     prints the kubeconfig path (exit 1 if not running)
#   scripts/test-cluster.sh status         exit 0 if it is running
#   scripts/test-cluster.sh stop           ends everything start started and removes its data
#
# What start sets up: PodSecurity admission (on by default in 1.28) and the other default
# admission plugins, RBAC with an admin token (group system:masters), a service-account
# signing key, and the CRDs the library renders against: the vendored ones in crds/
# (cert-manager, prometheus-operator, Gateway API, Istio) and our DistributedService CRD
# as lib/crd renders it; it waits until every CRD is Established.
# No kube-controller-manager and no scheduler run: Deployments create no pods, namespaces
# are not cleaned up after delete, and no ServiceAccount "default" appears by itself.
#
# State (certificates, etcd data, logs, pids) lives in $CDK8S_FRP_CLUSTER_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/cdk8s-frp/test-cluster. Ports are free ones picked at start,
# or $CDK8S_FRP_CLUSTER_PORT (API server; etcd uses the next two). If
# $CDK8S_FRP_CLUSTER_OWNER names a process, the cluster stops by itself when it ends.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
state="${CDK8S_FRP_CLUSTER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-frp/test-cluster}"
kubeconfig="$state/kubeconfig"

log() { echo "test-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

k8s_dir() { "$here/build-k8s.sh"; }

# alive NAME: the process recorded in NAME.pid runs and is the binary we started.
alive() {
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$state" || return 1
}

ready() {
  alive etcd && alive kube-apiserver && [ -f "$kubeconfig" ] &&
    "$(k8s_dir)/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# stop_proc NAME: TERM, then KILL after 10 s.
stop_proc() {
  alive "$1" || { rm -f "$state/$1.pid"; return 0; }
  local pid i
  pid=$(cat "$state/$1.pid")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 100); do
    alive "$1" || break
    sleep 0.1
  done
  if alive "$1"; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$state/$1.pid"
}

stop_all() {
  stop_proc watchdog
  stop_proc kube-apiserver
  stop_proc etcd
  rm -rf "$state/etcd-data" "$state/pki" "$kubeconfig" "$state/ports"
}

certs() {
  local pki="$state/pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=cdk8s-frp-test-cluster-ca \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key \
      -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    echo "$(openssl rand -hex 24),admin,admin,system:masters" >tokens.csv
    chmod 600 ./*.key tokens.csv
  )
}

start() {
  if ready; then
    log "reusing the running API server ($(sed -n 's/^ *server: //p' "$kubeconfig"))"
    echo "$kubeconfig"
    return 0
  fi
  stop_all # leftovers of a crashed run
  local k
  k=$(k8s_dir)
  command -v etcd >/dev/null || die "etcd is needed (Debian: etcd-server; scripts/install-tools.sh)"
  command -v openssl >/dev/null || die "openssl is needed"
  local api_port etcd_port peer_port
  if [ -n "${CDK8S_FRP_CLUSTER_PORT:-}" ]; then
    api_port=$CDK8S_FRP_CLUSTER_PORT etcd_port=$((api_port + 1)) peer_port=$((api_port + 2))
  else
    api_port=$(free_port) etcd_port=$(free_port) peer_port=$(free_port)
  fi
  echo "$api_port $etcd_port $peer_port" >"$state/ports"
  certs
  local pki="$state/pki"

  log "starting etcd on 127.0.0.1:$etcd_port"
  setsid etcd --name test-cluster --data-dir "$state/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "test-cluster=http://127.0.0.1:$peer_port" \
    --log-level warn </dev/null >"$state/etcd.log" 2>&1 9>&- &
  echo $! >"$state/etcd.pid"

  log "starting kube-apiserver $("$k/kube-apiserver" --version | cut -d" " -f2) on https://127.0.0.1:$api_port"
  setsid "$k/kube-apiserver" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --enable-priority-and-fairness=false --profiling=false \
    --cert-dir "$pki" \
    </dev/null >"$state/kube-apiserver.log" 2>&1 9>&- &
  echo $! >"$state/kube-apiserver.pid"

  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test-cluster
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    token: $(cut -d, -f1 "$pki/tokens.csv")
contexts:
- name: test-cluster
  context: {cluster: test-cluster, user: admin}
current-context: test-cluster
EOF
  chmod 600 "$kubeconfig"

  local i
  for i in $(seq 600); do
    alive etcd || die "etcd ended; see $state/etcd.log: $(tail -3 "$state/etcd.log")"
    alive kube-apiserver || die "kube-apiserver ended; see $state/kube-apiserver.log: $(tail -3 "$state/kube-apiserver.log")"
    "$k/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$k/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1 ||
    die "kube-apiserver not ready after 120 s; see $state/kube-apiserver.log"

  if [ -n "${CDK8S_FRP_CLUSTER_OWNER:-}" ]; then
    # stops the cluster when the owner process ends, even if it cannot say so
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; CDK8S_FRP_CLUSTER_DIR="$3" exec "$2" stop' \
      watchdog "$CDK8S_FRP_CLUSTER_OWNER" "$here/test-cluster.sh" "$state" </dev/null >/dev/null 2>&1 9>&- &
    echo $! >"$state/watchdog.pid"
  fi

  log "installing the CRDs"
  local crd
  crd="$state/distributedservices.frp.io.yaml"
  (cd "$root" && npx --no-install ts-node --transpile-only --prefer-ts-exts -P test/tsconfig.json scripts/distributed-service-crd.ts) >"$crd"
  # create (the etcd is new): server-side apply refuses fields a 1.28 server does not know
  # (cert-manager's selectableFields, Kubernetes 1.30+); this drops them and says so.
  "$k/kubectl" --kubeconfig "$kubeconfig" create --validate=warn -f "$root/crds" -R \
    2>&1 >/dev/null | sed 's/^/test-cluster: CRDs: /' >&2
  # ours as Argo CD applies it (the tests apply it again, changed or not, as the same manager)
  "$k/kubectl" --kubeconfig "$kubeconfig" apply --server-side --field-manager argocd-controller -f "$crd" >/dev/null
  local pending
  for i in $(seq 300); do
    # the names of the CRDs not Established yet (a new one has no conditions at first)
    pending=$("$k/kubectl" --kubeconfig "$kubeconfig" get crd -o go-template='{{range .items}}{{$e := ""}}{{range .status.conditions}}{{if eq .type "Established"}}{{$e = .status}}{{end}}{{end}}{{if ne $e "True"}}{{.metadata.name}} {{end}}{{end}}')
    [ -z "$pending" ] && break
    sleep 0.2
  done
  [ -z "$pending" ] || die "CRDs not Established after 60 s: $pending"
  log "ready: $("$k/kubectl" --kubeconfig "$kubeconfig" get crd -o name | wc -l) CRDs Established"
  echo "$kubeconfig"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  start)
    mkdir -p "$state"
    exec 9>"$state/lock"
    flock 9
    start
    ;;
  stop)
    mkdir -p "$state"
    exec 9>"$state/lock"
    flock 9
    stop_all
    log "stopped"
    ;;
  status) ready ;;
  kubeconfig)
    ready || die "not running (scripts/test-cluster.sh start)"
    echo "$kubeconfig"
    ;;
  kubectl) exec "$(k8s_dir)/kubectl" --kubeconfig "$kubeconfig" "$@" ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
