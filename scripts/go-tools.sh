# Sourced by the build-*.sh scripts of programs built from the Go module proxy with a
# build module of ours (a go.mod and go.sum in scripts/<name>, pinning the program and
# every dependency).
#
#   build_go_tools NAME MODULE_DIR VERSION LDFLAGS BINARY=PACKAGE...
#
# builds each BINARY from PACKAGE inside MODULE_DIR (CGO off, -trimpath, -mod=readonly,
# `nice -n 10`) into $cache/NAME-VERSION-STAMP, STAMP hashing the go.mod, go.sum and
# flags: a change of pins builds anew, anything else reuses the binaries. Binaries already
# there are kept, only missing ones are built. A lock per NAME makes parallel callers wait
# for one build instead of each doing it. Prints the directory as its last line.
build_go_tools() {
  local name=$1 mod=$2 version=$3 ldflags=$4
  shift 4
  local stamp cache out
  stamp=$( (cat "$mod/go.mod" "$mod/go.sum"; echo "$ldflags") | sha256sum | cut -c1-12)
  cache="${CDK8S_FRP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-frp/tools}"
  out="$cache/$name-$version-$stamp"

  local spec missing=()
  for spec in "$@"; do
    [ -x "$out/${spec%%=*}" ] || missing+=("$spec")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "$out"
    return 0
  fi

  command -v go >/dev/null || { echo "build-$name: Go is needed (see $mod/go.mod for the version)" >&2; return 1; }
  mkdir -p "$cache"
  (
    exec 8>"$cache/.$name.lock"
    flock 8
    local tmp bin spec
    tmp=$(mktemp -d "$cache/.$name-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    cd "$mod"
    export CGO_ENABLED=0 GOFLAGS=-mod=readonly
    mkdir -p "$out"
    for spec in "${missing[@]}"; do
      bin=${spec%%=*}
      [ -x "$out/$bin" ] && continue # built by the caller we waited for
      echo "build-$name: building $bin $version (minutes, once)" >&2
      SECONDS=0
      # set -e does not hold inside a subshell on the left of ||: stop on a failed build here
      nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$tmp/$bin" "${spec#*=}" || exit 1
      mv "$tmp/$bin" "$out/"
      echo "build-$name: $bin built in ${SECONDS}s" >&2
    done
  ) || return 1
  echo "$out"
}

# go_module_dir MODULE_DIR MODULE: the directory of MODULE's source at the version
# MODULE_DIR's go.mod pins (downloaded and checked against go.sum if need be)
go_module_dir() {
  (cd "$1" && GOFLAGS=-mod=readonly go mod download -json "$2" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
}
