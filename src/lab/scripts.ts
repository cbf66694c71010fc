/**
 * The two shell scripts a lab node starts with. They take every value as an argument ("$1" …),
 * never interpolated into the text, so nothing from the inventory reaches a shell unquoted.
 */

/**
 * The launcher: joins the node's cgroups, then enters its netns and fresh cgroup+mount+uts+pid
 * namespaces. The cgroup join comes first because a cgroup namespace is rooted where the process
 * stands when it is created.
 * Usage: launch NETNS_PATH N CGDIR_1 … CGDIR_N INIT INIT_ARGS…
 */
export const LAUNCH_SCRIPT = `#!/bin/sh
set -eu
ns=$1; n=$2; shift 2
while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs"; shift; n=$((n - 1)); done
exec nsenter --net="$ns" unshare --cgroup --mount --uts --pid --fork --propagation private -- "$@"
`;

/**
 * A node's PID 1 until it execs runsvdir. Runs inside the node's namespaces.
 * Usage: node-init NAME NODE_DIR HIDE_DIR MOUNT_TAG
 */
export const NODE_INIT_SCRIPT = `#!/bin/sh
set -eu
name=$1; root=$2; hide=$3; tag=$4
hostname "$name"

# The mount namespace was copied from the host, with every netns bind mount of the moment. Holding
# them would keep other nodes' (and other labs') network namespaces alive after they are deleted.
# /run/netns (a mount point once \`ip netns add\` ran) holds them all: one lazy unmount drops the lot,
# where one umount process per netns made booting N nodes cost N² (each umount parses mountinfo).
umount -l /run/netns 2>/dev/null || true
sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \\([^ ]*\\) .* - nsfs .*/\\1/p' /proc/self/mountinfo | while read -r m; do
  umount -l "$m" 2>/dev/null || true
done

# Copy-on-write views of the host's writable trees; writes land in $root/upper/<dir>.
for d in etc var usr opt root home; do
  mount -t overlay "$tag" -o "lowerdir=/$d,upperdir=$root/upper/$d,workdir=$root/work/$d" "/$d"
done
# containerd's overlay snapshotter cannot sit on an overlay: a plain per-node dir.
mkdir -p /var/lib/containerd
mount --bind "$root/data/containerd" /var/lib/containerd

# Services the host's own runit would start (ssh, syslog) are not this node's: hide them here.
# Only ever on the node's overlay: never let a removal reach the host's /etc.
[ "$(stat -f -c %T /etc)" = overlayfs ] || { echo "node-init: /etc is not an overlay here; stopping" >&2; exit 1; }
for s in /etc/service/* /etc/service/.[!.]*; do
  [ -e "$s" ] || [ -L "$s" ] || continue
  b=\${s##*/}
  [ -e "$root/upper/etc/service/$b" ] || [ -L "$root/upper/etc/service/$b" ] || rm -rf "$s"
done

# Hide the lab state (operator key, other nodes' trees) from everything in the node.
mount -t tmpfs -o mode=755 "$tag" "$hide"

mount -t tmpfs -o mode=755 "$tag" /run
mkdir -p /run/sshd
mount -t sysfs sysfs /sys          # /sys/class/net now shows this netns only
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
else
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  # Remount every v1 hierarchy; the cgroup namespace roots each at this node's subtree.
  while IFS=: read -r _id ctrls _path; do
    if [ -z "$ctrls" ]; then
      mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
      continue
    fi
    case $ctrls in name=*) d=\${ctrls#name=}; o=none,$ctrls ;; *) d=$ctrls; o=$ctrls ;; esac
    mkdir -p "/sys/fs/cgroup/$d" && mount -t cgroup -o "$o" cgroup "/sys/fs/cgroup/$d"
  done < /proc/self/cgroup
fi
mount -t proc proc /proc           # this node's pid namespace
mount -t tmpfs -o mode=1777 "$tag" /tmp
exec runsvdir -P /etc/service
`;
