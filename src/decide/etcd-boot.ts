/**
 * The etcd rungs up to a healthy cluster: certificates, service files, bootstrap (only when every
 * control-plane node answers), starting stopped members, and waiting for a healthy quorum.
 */
import { etcdHealthy, type ClusterStatus } from "../cluster/status.js";
import { controlPlane, type ClusterSpec } from "../cluster/spec.js";
import { etcdBootstrapOp } from "../ops/etcd/bootstrap.js";
import { etcdCertsOp, etcdFilesOp } from "../ops/etcd/files.js";
import { clientURL } from "../ops/etcd/layout.js";
import { etcdStartOp } from "../ops/etcd/restart.js";
import { etcdWaitOp } from "../ops/etcd/wait.js";
import type { EtcdNodeDesired } from "../ops/etcd/desired.js";
import type { Decision, DecideOptions } from "./types.js";
import {
  bootedAsNew,
  etcdCertsOutdated,
  etcdFilesDrifted,
  etcdFilesOutdated,
  etcdRunning,
  hasEtcdData,
  isReachable,
  memberOf,
  nodeStatus,
} from "./predicates.js";

/** The first etcd rung below a healthy cluster that has work, or undefined when etcd is healthy. */
export function decideEtcdBoot(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const cps = controlPlane(spec);
  const want = (name: string): EtcdNodeDesired => {
    const d = o.desired.etcd[name];
    if (!d) throw new Error(`no desired etcd state for ${name} (a bug in yagura)`);
    return d;
  };
  const reachable = cps.filter((n) => isReachable(status, n));
  const unreachable = cps.filter((n) => !isReachable(status, n)).map((n) => n.name);

  const certs = reachable.filter((n) => etcdCertsOutdated(nodeStatus(status, n)!, want(n.name)));
  if (certs.length) {
    return {
      phase: "etcd-certs",
      ops: [etcdCertsOp(certs.map((n) => want(n.name)))],
      message: `etcd certificates missing or outdated on ${certs.map((n) => n.name).join(", ")}`,
    };
  }
  const files = reachable.filter((n) => etcdFilesOutdated(nodeStatus(status, n)!, want(n.name)));
  if (files.length) {
    const drifted = new Set(
      files.filter((n) => etcdFilesDrifted(nodeStatus(status, n)!, want(n.name))).map((n) => n.name),
    );
    return {
      phase: "etcd-files",
      ops: [
        etcdFilesOp(
          files.map((n) => want(n.name)),
          drifted,
        ),
      ],
      message: `etcd service files missing or changed on ${files.map((n) => n.name).join(", ")}`,
    };
  }

  const noAnswer = status.etcd.members.length === 0;
  const withData = cps.filter((n) => hasEtcdData(nodeStatus(status, n)));
  if (noAnswer && withData.length === 0) {
    if (unreachable.length) {
      // No member answered and the nodes that could show etcd's data did not either: etcd may well
      // be running (an overloaded or cut-off network looks the same), so say its state is unknown.
      const none = unreachable.length === cps.length;
      return {
        phase: "etcd-bootstrap-aborted",
        ops: [],
        message:
          (none
            ? `no control-plane node answered over SSH and no etcd member answered: etcd's state is unknown, `
            : `no etcd member answered and the unreachable control-plane nodes may hold its data: `) +
          `etcd is bootstrapped only when every control-plane node answers; unreachable: ${unreachable.join(", ")}`,
      };
    }
    const all = cps.map((n) => want(n.name));
    return {
      phase: "etcd-bootstrap",
      ops: [etcdBootstrapOp(all, all, o.desired.etcdToken)],
      message: `bootstrapping etcd on ${cps.length} nodes`,
    };
  }

  // Members with data whose service is stopped: starting them only adds voters back.
  const stopped = reachable.filter((n) => {
    const st = nodeStatus(status, n);
    return hasEtcdData(st) && !etcdRunning(st) && (noAnswer || memberOf(status, n) !== undefined);
  });
  if (stopped.length) {
    return {
      phase: "etcd-start",
      ops: [etcdStartOp(stopped.map((n) => want(n.name)))],
      message: `etcd is stopped on ${stopped.map((n) => n.name).join(", ")}`,
    };
  }

  // A bootstrap that was interrupted: some members started with the "new" cluster, others never.
  const half = noAnswer && withData.every((n) => bootedAsNew(nodeStatus(status, n), want(n.name)));
  const rest = cps.filter((n) => !hasEtcdData(nodeStatus(status, n)) && !etcdRunning(nodeStatus(status, n)));
  if (half && rest.length) {
    if (unreachable.length) {
      return {
        phase: "etcd-bootstrap-aborted",
        ops: [],
        message: `cannot finish the etcd bootstrap; unreachable: ${unreachable.join(", ")}`,
      };
    }
    const all = cps.map((n) => want(n.name));
    return {
      phase: "etcd-bootstrap",
      ops: [
        etcdBootstrapOp(
          all,
          rest.map((n) => want(n.name)),
          o.desired.etcdToken,
        ),
      ],
      message: `finishing the etcd bootstrap on ${rest.map((n) => n.name).join(", ")}`,
    };
  }

  if (!etcdHealthy(status.etcd)) {
    const endpoints = withData.map((n) => clientURL(n));
    return {
      phase: "etcd-wait",
      ops: [
        etcdWaitOp(
          withData.map((n) => n.name),
          endpoints,
        ),
      ],
      message: status.etcd.error ? `waiting for etcd: ${status.etcd.error}` : "waiting for a healthy etcd quorum",
    };
  }
  return undefined;
}
