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
exec npx vitest run "$@"
