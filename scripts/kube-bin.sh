#!/usr/bin/env bash
# Prints the directory of Kubernetes server binaries the cluster tests run with, or nothing.
# YAGURA_KUBE_BIN_DIR wins when set; otherwise, when a checkout of the project sits beside a
# shared/kube folder of compressed binaries (its unpack.sh checks every sha256), they are unpacked
# once into .cache/kube-bin (git-ignored; quick when already current).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${YAGURA_KUBE_BIN_DIR:-}" ]; then echo "$YAGURA_KUBE_BIN_DIR"; exit 0; fi
unpack=../shared/kube/unpack.sh
if [ -x "$unpack" ] || [ -f "$unpack" ]; then
  bash "$unpack" .cache/kube-bin
else
  echo "kube-bin: no YAGURA_KUBE_BIN_DIR and no ../shared/kube: the cluster tests will skip" >&2
fi
