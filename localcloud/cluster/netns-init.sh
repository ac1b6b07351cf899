#!/usr/bin/env bash
# PID 1 of the namespaces a test run (or a developer's local cluster) lives in; netns.ts starts it through
# `unshare --net --pid --mount-proc --fork --kill-child`. It builds the cluster network of topology.ts (names and
# addresses come from netns.ts, so topology.ts stays their one source), runs the command, and exits with its
# status. When PID 1 exits the kernel kills every process left in the PID namespace, and the network namespace
# vanishes with every device in it, so a run leaves nothing behind even when it is killed.
set -euo pipefail
: "${KVCLOUD_BRIDGE:?}" "${KVCLOUD_NODE_CIDR:?}" "${KVCLOUD_SERVICE_DEVICE:?}" "${KVCLOUD_TENANT_POD_CIDRS:?}"

ip link set lo up
ip link add "$KVCLOUD_BRIDGE" type bridge
ip addr add "$KVCLOUD_NODE_CIDR" dev "$KVCLOUD_BRIDGE"
ip link set "$KVCLOUD_BRIDGE" up
# A bridge without ports stands in for a dummy device (see topology.ts).
ip link add "$KVCLOUD_SERVICE_DEVICE" type bridge
ip link set "$KVCLOUD_SERVICE_DEVICE" up
# Tenant pods live behind the simulated VMs on the bridge: their ranges are on-link there and each VM answers ARP
# for its own part of one. This namespace routes between management pods and tenant pods; it sends no ICMP redirects,
# so every such packet keeps taking the same path through it.
for cidr in $KVCLOUD_TENANT_POD_CIDRS; do ip route add "$cidr" dev "$KVCLOUD_BRIDGE"; done
sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 "net.ipv4.conf.$KVCLOUD_BRIDGE.send_redirects=0"

# A background job of a non-interactive shell gets /dev/null as stdin unless given one explicitly.
"$@" <&0 &
child=$!
# PID 1 has no default signal actions: pass termination on to the command, which decides how to stop.
trap 'kill -TERM "$child" 2>/dev/null || true' TERM HUP
trap 'kill -INT "$child" 2>/dev/null || true' INT
status=0
while :; do
  wait "$child" && status=0 || status=$?
  # A trapped signal also ends `wait`; only the command's own exit ends the loop.
  kill -0 "$child" 2>/dev/null || break
done
exit "$status"
