#!/usr/bin/env bash
# Installs what yagura needs on a Debian 12 machine: the Debian packages the lab and the reconciler
# run (sshd, etcd, runit, iproute2, containerd …; gcc and libc6-dev build the lab's static pause binary) and the npm dependencies (which generate the
# OpenStack bindings in .gen/). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(etcd-server etcd-client openssh-server openssh-client runit iproute2 iputils-ping openssl
      containerd runc containernetworking-plugins iptables gcc libc6-dev xz-utils
      prometheus systemd    # promtool checks the alert rules; systemd-analyze checks the watch's unit
      zsh)                  # the zsh completion script is tested in a real zsh
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages may start daemons on a systemd machine; the lab runs its own per node.
echo "installing npm dependencies"
# Native modules (ssh2's crypto binding, cpu-features) are built against the headers of the Node
# that runs: node-gyp would otherwise take those beside npm, which belong to another Node when npm
# came with one and `node` on PATH is another (e.g. a Node 24 from scripts/node.sh), and the modules
# would not load (ssh2 then falls back to slower JavaScript ciphers).
node_prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -f "$node_prefix/include/node/common.gypi" ]; then export npm_config_nodedir=$node_prefix; fi
# npm ci refuses a lockfile that lacks other platforms' optional packages (which a registry
# mirror may not carry); npm install honours the lockfile and skips what it cannot fetch.
npm install --no-audit --no-fund
# The CLI runs from a JavaScript build of src/ (bin/yagura.mjs rebuilds it when a source changes).
echo "building the CLI"
node scripts/build.mjs
