#!/usr/bin/env bash
# A real Kubernetes control plane on a loopback address for the tests and for users: etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler v1.28 (scripts/build-k8s.sh;
# CDK8S_FRP_K8S_VERSION=1.34 for v1.34: npm test runs test/cluster on both),
# KWOK playing nodes (scripts/build-kwok.sh) and cert-manager's controller and cainjector
# (scripts/build-cert-manager.sh).
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
# (cert-manager, prometheus-operator, Gateway API, Istio), our DistributedService CRD
# as lib/crd renders it, and the CRDs cert-manager's controller needs besides
# (CertificateRequest, Order, Challenge); it waits until every CRD is Established.
# Then the controllers, each with its own client certificate (the controller-manager and
# the scheduler as system:kube-controller-manager and system:kube-scheduler with their
# bootstrap RBAC, every controller of the controller-manager with its own service account
# as in a real cluster; kwok, cert-manager and cainjector bound to cluster-admin):
#   kube-controller-manager  garbage collector; Deployment, ReplicaSet, StatefulSet,
#                            DaemonSet, namespace, service account (+ tokens, kube-root-ca.crt),
#                            Endpoints/EndpointSlice, PodDisruptionBudget, pod GC, node
#                            lifecycle, RBAC aggregation controllers
#   kube-scheduler           binds pods to nodes
#   kwok                     plays $NODES Nodes kwok-node-0.. (zones a, b, c) with kwokctl's
#                            default stages: nodes Ready, pods Running and Ready without
#                            containers, deleted pods go
#   cert-manager-controller  issues Certificates (cluster resource namespace cert-manager;
#                            no webhook)
#   cert-manager-cainjector  fills caBundle of webhook configurations (and CRDs, APIServices)
#                            annotated cert-manager.io/inject-ca-from with the ca.crt of the
#                            Certificate's Secret; no ports, no leader election
# start waits until the nodes are Ready without taints, the ServiceAccount "default"
# exists, cert-manager has issued a test Certificate and cainjector has injected its CA.
#
# State (certificates, etcd data, logs, pids) lives in $CDK8S_FRP_CLUSTER_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/cdk8s-frp/test-cluster; each program logs to NAME.log there.
# Every program listens on $CDK8S_FRP_CLUSTER_ADDRESS, by default 127.0.0.1. The tests set it
# to an address of a 127.B.0.0/16 their jest run has claimed (test/cluster/global-setup.ts,
# test/helpers/loopback.ts), where the ports are fixed (API server 6443, etcd 2379 and its
# peers 2380, controller-manager 10257, scheduler 10259, cert-manager's metrics 9402): no other
# test or run can take one of them between a check and a bind. On 127.0.0.1 they are free
# ones picked at start, or $CDK8S_FRP_CLUSTER_PORT (API server; etcd, its peer port, the
# controller-manager, the scheduler and cert-manager's metrics use the next five). Another
# cluster in the same run (another state directory) needs another address of the claim
# (e.g. 127.B.0.2). If $CDK8S_FRP_CLUSTER_OWNER names a process, the cluster stops by itself
# when it ends.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
state="${CDK8S_FRP_CLUSTER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-frp/test-cluster}"
kubeconfig="$state/kubeconfig"
addr="${CDK8S_FRP_CLUSTER_ADDRESS:-127.0.0.1}"

log() { echo "test-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

k8s_dir() { "$here/build-k8s.sh" | tail -1; }
NODES=3
# the controllers, in the order start starts them (stop ends them in reverse)
CONTROLLERS="kube-controller-manager kube-scheduler kwok cert-manager-controller cert-manager-cainjector"

# alive NAME: the process recorded in NAME.pid runs and is the binary we started.
alive() {
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$state" || return 1
}

ready() {
  local c
  for c in etcd kube-apiserver $CONTROLLERS; do alive "$c" || return 1; done
  # the version asked for (CDK8S_FRP_K8S_VERSION): another one is stopped and started anew
  tr '\0' ' ' <"/proc/$(cat "$state/kube-apiserver.pid")/cmdline" | grep -q -- "$(k8s_dir)/kube-apiserver " &&
    [ -f "$kubeconfig" ] &&
    "$(k8s_dir)/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1
}

# free_ports N: N distinct free ports of 127.0.0.1 (held together while picked), on one line
free_ports() {
  node -e "const n=+process.argv[1];const ss=[];const next=()=>{if(ss.length===n){console.log(ss.map(s=>s.address().port).join(' '));ss.forEach(s=>s.close());return}const s=require('net').createServer();ss.push(s);s.listen(0,'127.0.0.1',next)};next()" "$1"
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
  local c
  stop_proc watchdog
  for c in $(echo "$CONTROLLERS" | tr ' ' '\n' | tac); do stop_proc "$c"; done
  stop_proc kube-apiserver
  stop_proc etcd
  rm -rf "$state/etcd-data" "$state/pki" "$kubeconfig" "$state"/*.kubeconfig "$state/ports" "$state/kwok"
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
    printf 'subjectAltName=IP:127.0.0.1,IP:%s,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' "$addr" >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    # the controllers' client certificates: CN is the user, O the group
    local who
    for who in kube-controller-manager:system:kube-controller-manager kube-scheduler:system:kube-scheduler \
      kwok:cdk8s-frp:kwok cert-manager-controller:cdk8s-frp:cert-manager \
      cert-manager-cainjector:cdk8s-frp:cainjector; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=${who#*:}" -keyout "${who%%:*}.key" \
        -out "${who%%:*}.csr" 2>/dev/null
      printf 'extendedKeyUsage=clientAuth\n' >client.ext
      openssl x509 -req -in "${who%%:*}.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile client.ext -out "${who%%:*}.crt" 2>/dev/null
    done
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    echo "$(openssl rand -hex 24),admin,admin,system:masters" >tokens.csv
    chmod 600 ./*.key tokens.csv
  )
}

# write_kubeconfig FILE USER CREDENTIAL...: a kubeconfig for the API server at
# $api_port with the CA in $pki (start's locals) and USER's credentials (YAML lines)
write_kubeconfig() {
  local file=$1 user=$2
  shift 2
  {
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test-cluster
  cluster:
    server: https://$addr:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: $user
  user:
EOF
    printf '    %s\n' "$@"
    cat <<EOF
contexts:
- name: test-cluster
  context: {cluster: test-cluster, user: $user}
current-context: test-cluster
EOF
  } >"$file"
  chmod 600 "$file"
}

# wait_for WHAT SECONDS COMMAND...: runs COMMAND until it succeeds, while every program
# started so far runs; dies naming WHAT (and the log of a program that ended)
wait_for() {
  local what=$1 seconds=$2 i p
  shift 2
  for i in $(seq $((seconds * 2))); do
    for p in etcd kube-apiserver $CONTROLLERS; do
      [ -e "$state/$p.pid" ] || continue
      alive "$p" || die "$p ended; see $state/$p.log: $(tail -3 "$state/$p.log")"
    done
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what not after $seconds s; see the logs in $state"
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
  local kwok_dir cm_dir
  kwok_dir=$("$here/build-kwok.sh" | tail -1)
  cm_dir=$("$here/build-cert-manager.sh" | tail -1)
  local api_port etcd_port peer_port kcm_port sched_port cm_port
  if [ -n "${CDK8S_FRP_CLUSTER_PORT:-}" ]; then
    read -r api_port etcd_port peer_port kcm_port sched_port cm_port < <(seq "$CDK8S_FRP_CLUSTER_PORT" $((CDK8S_FRP_CLUSTER_PORT + 5)) | xargs)
  elif [ "$addr" != 127.0.0.1 ]; then
    read -r api_port etcd_port peer_port kcm_port sched_port cm_port <<<"6443 2379 2380 10257 10259 9402"
  else
    read -r api_port etcd_port peer_port kcm_port sched_port cm_port < <(free_ports 6)
  fi
  echo "$api_port $etcd_port $peer_port $kcm_port $sched_port $cm_port" >"$state/ports"
  certs
  local pki="$state/pki"

  log "starting etcd on $addr:$etcd_port"
  setsid etcd --name test-cluster --data-dir "$state/etcd-data" \
    --listen-client-urls "http://$addr:$etcd_port" --advertise-client-urls "http://$addr:$etcd_port" \
    --listen-peer-urls "http://$addr:$peer_port" --initial-advertise-peer-urls "http://$addr:$peer_port" \
    --initial-cluster "test-cluster=http://$addr:$peer_port" \
    --log-level warn </dev/null >"$state/etcd.log" 2>&1 9>&- &
  echo $! >"$state/etcd.pid"

  log "starting kube-apiserver $("$k/kube-apiserver" --version | cut -d" " -f2) on https://$addr:$api_port"
  setsid "$k/kube-apiserver" \
    --bind-address $addr --advertise-address $addr --secure-port "$api_port" \
    --etcd-servers "http://$addr:$etcd_port" \
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

  write_kubeconfig "$kubeconfig" admin "token: $(cut -d, -f1 "$pki/tokens.csv")"
  local c
  for c in $CONTROLLERS; do
    write_kubeconfig "$state/$c.kubeconfig" "$c" "client-certificate: $pki/$c.crt" "client-key: $pki/$c.key"
  done

  local kc=("$k/kubectl" --kubeconfig "$kubeconfig")
  wait_for "kube-apiserver ready" 120 "${kc[@]}" get --raw /readyz

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
  # and those cert-manager's controller watches besides (scripts/build-cert-manager.sh)
  "${kc[@]}" create -f "$cm_dir/crds.yaml" >/dev/null
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
  log "$("${kc[@]}" get crd -o name | wc -l) CRDs Established"

  start_controllers
  log "ready"
  echo "$kubeconfig"
}

# untainted: no kwok node has a taint
untainted() {
  [ -z "$("${kc[@]}" get nodes -l type=kwok -o jsonpath='{.items[*].spec.taints}')" ]
}

# injected NAME: cainjector has filled the caBundle of ValidatingWebhookConfiguration NAME
injected() {
  [ -n "$("${kc[@]}" get validatingwebhookconfiguration "$1" -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]
}

# start_controllers: the controller-manager, the scheduler, kwok and its nodes, cert-manager
# and its cainjector (start's locals: k, kwok_dir, cm_dir, the ports, pki, kc)
start_controllers() {
  "${kc[@]}" create namespace cert-manager >/dev/null
  local user
  for user in cdk8s-frp:kwok cdk8s-frp:cert-manager cdk8s-frp:cainjector; do
    "${kc[@]}" create clusterrolebinding "$user" --clusterrole cluster-admin --user "$user" >/dev/null
  done

  log "starting kube-controller-manager on https://$addr:$kcm_port"
  # --node-monitor-grace-period 10m: KWOK renews its nodes' leases, and a KWOK starved of CPU for
  # longer than the default grace (40 s in 1.28, 50 s in 1.34) got its nodes marked NotReady and
  # every pod on them Ready=False; KWOK makes only Pending pods Ready, so they stayed unready and
  # every Deployment unavailable after the nodes came back (KWOK stopped for 75 s does it; a
  # test/cluster run on 1.34 under load saw every Deployment of operator-scale so)
  local c="kube-controller-manager"
  setsid "$k/$c" --kubeconfig "$state/$c.kubeconfig" \
    --authentication-kubeconfig "$state/$c.kubeconfig" --authorization-kubeconfig "$state/$c.kubeconfig" \
    --bind-address "$addr" --secure-port "$kcm_port" --cert-dir "$pki/$c" \
    --leader-elect=false --profiling=false \
    --node-monitor-grace-period 10m \
    --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --controllers garbagecollector,deployment,replicaset,statefulset,daemonset,namespace,serviceaccount,serviceaccount-token,endpoint,endpointslice,disruption,podgc,nodelifecycle,root-ca-cert-publisher,clusterrole-aggregation \
    </dev/null >"$state/$c.log" 2>&1 9>&- &
  echo $! >"$state/$c.pid"

  log "starting kube-scheduler on https://$addr:$sched_port"
  c="kube-scheduler"
  setsid "$k/$c" --kubeconfig "$state/$c.kubeconfig" \
    --authentication-kubeconfig "$state/$c.kubeconfig" --authorization-kubeconfig "$state/$c.kubeconfig" \
    --bind-address "$addr" --secure-port "$sched_port" --cert-dir "$pki/$c" \
    --leader-elect=false --profiling=false \
    </dev/null >"$state/$c.log" 2>&1 9>&- &
  echo $! >"$state/$c.pid"

  log "starting kwok $("$kwok_dir/kwok" --version | cut -d" " -f3) with $NODES nodes"
  mkdir -p "$state/kwok"
  KWOK_WORKDIR="$state/kwok" setsid "$kwok_dir/kwok" --kubeconfig "$state/kwok.kubeconfig" \
    --config "$kwok_dir/stages.yaml" --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.0/16 --node-lease-duration-seconds 40 \
    </dev/null >"$state/kwok.log" 2>&1 9>&- &
  echo $! >"$state/kwok.pid"
  local i zones=(a b c)
  for i in $(seq 0 $((NODES - 1))); do
    cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake}
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-${zones[$((i % 3))]}
---
EOF
  done | "${kc[@]}" create -f - >/dev/null

  log "starting cert-manager's controller $(basename "$cm_dir" | cut -d- -f3) (metrics on $addr:$cm_port)"
  c="cert-manager-controller"
  setsid "$cm_dir/$c" --kubeconfig "$state/$c.kubeconfig" \
    --cluster-resource-namespace cert-manager --leader-elect=false \
    --metrics-listen-address "$addr:$cm_port" \
    </dev/null >"$state/$c.log" 2>&1 9>&- &
  echo $! >"$state/$c.pid"

  log "starting cert-manager's cainjector $(basename "$cm_dir" | cut -d- -f3)"
  c="cert-manager-cainjector"
  setsid "$cm_dir/$c" --kubeconfig "$state/$c.kubeconfig" --leader-elect=false \
    </dev/null >"$state/$c.log" 2>&1 9>&- &
  echo $! >"$state/$c.pid"

  wait_for "kube-controller-manager healthy" 120 curl -skf "https://$addr:$kcm_port/healthz"
  wait_for "kube-scheduler healthy" 120 curl -skf "https://$addr:$sched_port/healthz"
  wait_for "ServiceAccount default/default (the controller-manager)" 120 "${kc[@]}" get serviceaccount default
  wait_for "$NODES kwok nodes Ready" 120 "${kc[@]}" wait --for condition=Ready --timeout 1s node -l type=kwok
  # a new Node carries the not-ready taint until the node lifecycle controller sees it Ready
  wait_for "the not-ready taint off the nodes" 120 untainted
  # cert-manager issues: a self-signed Certificate in its namespace, then gone again
  "${kc[@]}" apply -f - >/dev/null <<EOF
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: test-cluster-probe, namespace: cert-manager}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: test-cluster-probe, namespace: cert-manager}
spec:
  secretName: test-cluster-probe
  commonName: test-cluster-probe
  issuerRef: {name: test-cluster-probe, kind: Issuer}
EOF
  wait_for "cert-manager issuing a Certificate" 120 "${kc[@]}" wait --for condition=Ready --timeout 1s -n cert-manager certificate/test-cluster-probe
  # cainjector injects its CA into a webhook configuration that no request matches
  "${kc[@]}" apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: test-cluster-probe
  annotations: {cert-manager.io/inject-ca-from: cert-manager/test-cluster-probe}
webhooks:
- name: probe.test-cluster.cdk8s-frp.dev
  clientConfig: {url: "https://127.0.0.1:1/"}
  rules: [{apiGroups: [test-cluster.cdk8s-frp.dev], apiVersions: [v1], operations: [CREATE], resources: [probes]}]
  failurePolicy: Ignore
  sideEffects: None
  admissionReviewVersions: [v1]
EOF
  wait_for "cainjector injecting the CA" 120 injected test-cluster-probe
  "${kc[@]}" delete validatingwebhookconfiguration/test-cluster-probe >/dev/null
  "${kc[@]}" delete -n cert-manager certificate/test-cluster-probe issuer/test-cluster-probe secret/test-cluster-probe >/dev/null
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
