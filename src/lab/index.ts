/**
 * The lab: every static node of an inventory as a network namespace with its own sshd and runit
 * (PID 1), on one bridge, on this machine. See README.md in this folder.
 */
export { labUp, type LabUpOptions, type LabUpResult } from "./up.js";
export { labDown, type LabDownResult } from "./down.js";
export { labStatus, parseSvStatus, type LabStatus, type LabNodeStatus, type ServiceStatus } from "./status.js";
export { labContext, type LabOptions } from "./context.js";
export { labPrerequisites, LAB_TOOLS } from "./preflight.js";
export { labNames } from "./names.js";
export { sshExec, sshOptions } from "./ssh.js";
export { readState, type LabState, type NodeRecord } from "./state.js";
export { GUARDED_SYSCTLS, readSysctls } from "./sysctl.js";
export { PAUSE_IMAGE_REF, PAUSE_IMAGE_PATH } from "./containerd.js";
export { labExec, labEnter } from "./shell.js";
export { labReimage, reimageScript, REIMAGE_WIPED } from "./reimage.js";
