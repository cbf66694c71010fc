#!/usr/bin/env bash
# The whole test suite: type check, lint, formatting, then every vitest file, with the Kubernetes
# binaries of scripts/kube-bin.sh so the cluster tests run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run typecheck
npm run lint
npm run format:check
dir=$(scripts/kube-bin.sh)
if [ -n "$dir" ]; then
  export YAGURA_KUBE_BIN_DIR=$dir
  echo "cluster tests run with the Kubernetes binaries in $dir ($("$dir/kube-apiserver" --version))"
fi
# The unit project two files at a time, then the host project (labs, clusters, namespaces) one at a
# time. Files or filters given as arguments narrow both runs; a run left with no file passes.
# Both always run; the script fails if either did.
st=0
npx vitest run --project unit --fileParallelism --maxWorkers 2 --passWithNoTests "$@" || st=$?
npx vitest run --project host --passWithNoTests "$@" || st=$?
exit $st
