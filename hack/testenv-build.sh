#!/usr/bin/env bash
# Build the test control plane (etcd, kube-apiserver, KCM, scheduler, kwok) from published Go
# modules into a cache outside the repository, and print the binary directory on stdout.
#
#   hack/testenv-build.sh              core plane  -> $CACHE/k8s-…-etcd-…-kwok-…/
#   hack/testenv-build.sh tools [name] helm/promtool -> $CACHE/tools/<name>-<version>/
#
# TESTENV_CACHE overrides the cache; TESTENV_EXTRA_CMDS="kubectl" adds same-version k8s commands.
#
# Design: testenv.md §3 (core), §4 (fallbacks), §7 (tools). A directory counts as built only when
# its `.complete` marker exists; it is written last, after an atomic rename, so an interrupted build
# never looks finished. Everything after the lock is logged to $CACHE/build.log.
set -eEuo pipefail # -E: the ERR trap also fires inside functions
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=hack/testenv.env
. "$ROOT/hack/testenv.env"
export GOTOOLCHAIN=local CGO_ENABLED=0 # no surprise toolchain download; static binaries
CACHE=${TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpsie-autoscaler-testenv}
BIN=$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION
MODE=${1:-core}
TOOLS=${2:-helm promtool}

tool_dir() { # $1: tool name -> its directory under $CACHE/tools
  case $1 in
    helm) echo "$CACHE/tools/helm-$HELM_VERSION" ;;
    promtool) echo "$CACHE/tools/promtool-$PROMETHEUS_VERSION" ;;
    *) echo "unknown tool $1" >&2; return 2 ;;
  esac
}

# Fast path: nothing to do when everything asked for is marked complete.
case $MODE in
  core) if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi ;;
  tools)
    dirs=$(for t in $TOOLS; do tool_dir "$t" || exit 2; done) || exit 2
    built=1
    for d in $dirs; do [ -f "$d/.complete" ] || built=0; done
    if [ $built = 1 ]; then echo "$dirs"; exit 0; fi ;;
  *) echo "usage: $0 [core|tools [helm|promtool]]" >&2; exit 2 ;;
esac

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time
exec 3>&1 4>&2 >>"$CACHE/build.log" 2>&1 # log everything; fd 3 prints paths, fd 4 is the user's stderr

step() { echo "== $(date -u +%FT%TZ) [$MODE] $*"; }
fail() {
  local rc=$?
  step "FAILED (exit $rc)"
  { echo "testenv-build: FAILED (exit $rc); last lines of $CACHE/build.log:"; tail -n 40 "$CACHE/build.log"; } >&4
  exit "$rc"
}
trap fail ERR
gojson() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

step "start $0 $* (pid $$)"
echo "pins: K8S=$K8S_VERSION ETCD=$ETCD_VERSION($ETCD_SOURCE) KWOK=$KWOK_VERSION($KWOK_IMPL) HELM=$HELM_VERSION PROMETHEUS=$PROMETHEUS_VERSION"
go version
echo "go env: GOPROXY=$(go env GOPROXY) GOSUMDB=$(go env GOSUMDB) GOFLAGS=$(go env GOFLAGS)"
echo "caches: GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE)"

# --- preflight -------------------------------------------------------------------------------
need_go() { # $1: a go.mod `go` line such as 1.26.0; fail unless the local toolchain is >= it
  local have; have=$(go env GOVERSION); have=${have#go}
  if [ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n1)" != "$1" ]; then
    echo "preflight: $2 needs go >= $1 but the local toolchain is $have (GOTOOLCHAIN=local)"; return 1
  fi
  echo "preflight: go $have >= $1 required by $2"
}
need_disk() { # $1: GiB that must be free on the cache and the Go build cache
  local d kb
  for d in "$CACHE" "$(go env GOCACHE)" "$(go env GOMODCACHE)"; do
    mkdir -p "$d"; kb=$(df -Pk "$d" | awk 'NR==2 {print $4}')
    if [ "$kb" -lt $(($1 * 1024 * 1024)) ]; then echo "preflight: only $((kb / 1024)) MiB free at $d, need $1 GiB"; return 1; fi
  done
  echo "preflight: >= $1 GiB free"
}

# --- core plane ------------------------------------------------------------------------------
k8s_resolve() { # wrapper module with one replace per staging module of the release (§3.1)
  local src=$CACHE/src/k8s-$K8S_VERSION gomod stg m stub
  mkdir -p "$src"; cd "$src"
  [ -f go.mod ] || go mod init local/k8s-testenv
  stg=v0.${K8S_VERSION#v1.}
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | gojson GoMod)
  need_go "$(go mod edit -json "$gomod" | gojson Go)" "k8s.io/kubernetes@$K8S_VERSION"
  for m in $(go mod edit -json "$gomod" | python3 -c 'import json,sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("./staging/"): print(r["Old"]["Path"])'); do
    if go list -m "$m@$stg" >/dev/null 2>&1; then
      go mod edit -replace "$m=$m@$stg"
    else # not served: a stub proves at build time that nothing imports it
      stub=$src/stub/$m; mkdir -p "$stub"; echo "module $m" >"$stub/go.mod"
      echo "staging module $m@$stg not served; stubbed"; go mod edit -replace "$m=./stub/$m"
    fi
  done
  echo "staging replaces: $(go mod edit -json | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("Replace") or []))')"
  go mod edit -json "$gomod" | python3 -c 'import json,sys
for d in json.load(sys.stdin).get("Godebug") or []: print(d["Key"] + "=" + d["Value"])' |
    while read -r kv; do go mod edit -godebug="$kv"; done # godebug counts only in the main module
  go get $(for c in $K8S_CMDS; do echo "k8s.io/kubernetes/cmd/$c@$K8S_VERSION"; done)
}
k8s_build() {
  local minor zero=0000000000000000000000000000000000000000 p ldflags="-s -w"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.gitCommit=$zero -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  cd "$CACHE/src/k8s-$K8S_VERSION"
  go build -mod=mod -p 2 -trimpath -ldflags "$ldflags" -o "$TMP/" \
    $(for c in $K8S_CMDS; do echo "k8s.io/kubernetes/cmd/$c"; done)
}
etcd_resolve() { # own wrapper, so MVS cannot raise Kubernetes' grpc/otel pins (§3.2)
  local src=$CACHE/src/etcd-$ETCD_VERSION
  mkdir -p "$src"; cd "$src"
  [ -f go.mod ] || go mod init local/etcd-testenv
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3/etcdmain@$ETCD_VERSION"
}
etcd_build() {
  if [ "$ETCD_SOURCE" = debian ]; then # ladder rung 2 (§4): stop-gap only
    cp "$(command -v etcd || echo /usr/bin/etcd)" "$TMP/etcd"; return
  fi
  cd "$CACHE/src/etcd-$ETCD_VERSION"
  go build -mod=mod -trimpath -ldflags "-s -w" -o "$TMP/etcd" .
}
kwok_build() { # plain install (no replace/exclude in kwok's go.mod) + stages from the module (§3.3)
  local kdir f
  GOBIN=$TMP go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  kdir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | gojson Dir)
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    printf -- '---\n'; cat "$kdir/kustomize/stage/$f"
  done >"$TMP/kwok-stages.yaml"
}
finish() { # $1 final dir, $2.. binaries that must answer --version (helm: `version`)
  local dir=$1 b; shift
  python3 - "$TMP" "$@" <<'PY'
import json, subprocess, sys
tmp, bins = sys.argv[1], sys.argv[2:]
out = {}
for b in bins:
    flag = ["version"] if b == "helm" else ["--version"]  # helm has a subcommand, no flag
    r = subprocess.run([f"{tmp}/{b}", *flag], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"{b} --version failed ({r.returncode}): {r.stderr[-500:]}")
    out[b] = (r.stdout or r.stderr).strip()
    print(f"{b}: {out[b].splitlines()[0] if out[b] else '?'}")
json.dump(out, open(f"{tmp}/versions.json", "w"), indent=2, sort_keys=True)
PY
  rm -rf "$dir"; mv "$TMP" "$dir"; touch "$dir/.complete" # marker last
  step "done: $dir ($(du -sh "$dir" | cut -f1))"
}

core() {
  [ -f "$BIN/.complete" ] && { echo "$BIN" >&3; return; } # built while we waited for the lock
  K8S_CMDS="kube-apiserver kube-controller-manager kube-scheduler ${TESTENV_EXTRA_CMDS:-}"
  need_disk 6
  TMP=$BIN.tmp; rm -rf "$TMP"; mkdir -p "$TMP"
  step "resolve kubernetes wrapper"; k8s_resolve     # network first: fail fast before compiling
  [ "$ETCD_SOURCE" = go ] && { step "resolve etcd wrapper"; etcd_resolve; }
  bins="etcd"
  if [ "$KWOK_IMPL" = kwok ]; then step "build kwok"; kwok_build; bins+=" kwok"; fi
  step "build etcd"; etcd_build
  step "build $K8S_CMDS"; k8s_build
  finish "$BIN" $bins $K8S_CMDS
  echo "$BIN" >&3
}

tool() { # $1 name
  local name=$1 v=$PROMETHEUS_VERSION dir src minor
  dir=$(tool_dir "$name")
  [ -f "$dir/.complete" ] && { echo "$dir" >&3; return; }
  mkdir -p "$CACHE/tools"; TMP=$dir.tmp; rm -rf "$TMP"; mkdir -p "$TMP"
  step "build $dir"
  if [ "$name" = helm ]; then # without these ldflags helm assumes Kubernetes 1.20 (§7)
    minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    GOBIN=$TMP go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
      -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    finish "$dir" helm
  else # prometheus' go.mod has exclude lines: go install @version is refused, use a wrapper
    src=$CACHE/src/prometheus-$v; mkdir -p "$src"; cd "$src"
    [ -f go.mod ] || go mod init local/promtool-testenv
    go get "github.com/prometheus/prometheus/cmd/promtool@$v"
    minor=${v#v0.}; minor=${minor:0:1}.${minor:1} # module tag v0.316.0 is Prometheus 3.16.0
    go build -mod=mod -p 2 -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=$minor" \
      -o "$TMP/promtool" github.com/prometheus/prometheus/cmd/promtool
    finish "$dir" promtool
  fi
  echo "$dir" >&3
}

if [ "$MODE" = core ]; then core; else
  rc=0
  for t in $TOOLS; do # a background subshell keeps set -e active (it is off inside `|| …`)
    ( tool "$t" ) &
    wait $! || rc=1
  done
  exit $rc
fi
