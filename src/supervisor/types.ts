/**
 * The supervisor interface: how a component is defined, started, stopped and observed on a node.
 * Implementations only render text (files and sh snippets); commands run that text over SSH, so
 * both real implementations (runit in the lab, systemd on real machines) are testable offline.
 */

/** What a supervised component runs. */
export interface ServiceDef {
  /** Component name: service directory / unit name (etcd, kube-apiserver …). */
  readonly name: string;
  readonly description: string;
  /** Program and arguments; quoted by the implementation. */
  readonly argv: readonly string[];
  /** KEY=value file read at each start (settings that only matter at first start). */
  readonly environmentFile: string;
  /**
   * Seconds the component gets to exit after TERM before it is killed (on a restart or a stop).
   * @default the supervisor's own: runit's restart RESTART_STOP_S, systemd's DefaultTimeoutStopSec
   */
  readonly stopTimeoutSeconds?: number;
}

/** A file yagura writes on a node. */
export interface ManagedFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Private keys: never printed, never recorded. */
  readonly secret?: boolean;
}

/** Supervisor-specific rendering and control; every method is pure. */
export interface Supervisor {
  readonly kind: "runit" | "systemd";
  /** Commands a node must have for this supervisor. */
  readonly prerequisites: readonly string[];
  /** The files that define the service (run scripts or a unit). */
  render(def: ServiceDef): ManagedFile[];
  /** sh that enables and starts the service and returns once the supervisor reports it up. */
  startScript(name: string): string;
  /** sh that stops the service and disables it (idempotent). */
  stopScript(name: string): string;
  /**
   * sh that restarts the running service and returns once the new process is up; the old one is
   * killed when it has not exited `stopTimeoutSeconds` after TERM (systemd takes that from the unit).
   */
  restartScript(name: string, stopTimeoutSeconds?: number): string;
  /**
   * sh that prints one JSON object {"present":bool,"running":bool,"pid":n} for the service; it is
   * embedded in the observe script, so it must not exit.
   */
  observeSnippet(name: string): string;
  /** sh that prints the last `lines` lines of the service's log (nothing when it has none); exits 0. */
  logTailScript(name: string, lines: number): string;
}
