/** Where one lab keeps everything, and the options its operations share. */
import { join, resolve } from "node:path";
import { envPaths, stateRoot } from "../cluster/paths.js";
import { labNames } from "./names.js";

/** Options every lab operation accepts. */
export interface LabOptions {
  /** Root of yagura's state (default: $YAGURA_STATE_DIR, else ./.yagura). */
  readonly stateRoot?: string;
  /** One line per step or node, for people; nothing is printed when absent. */
  readonly onProgress?: (line: string) => void;
}

/** The paths and names of the lab of `env`. */
export function labContext(env: string, opts: LabOptions = {}) {
  const root = resolve(opts.stateRoot ?? stateRoot());
  const paths = envPaths(env, root);
  return {
    env,
    root,
    paths,
    labDir: paths.labDir,
    binDir: join(paths.labDir, "bin"),
    nodesDir: join(paths.labDir, "nodes"),
    imagesDir: join(paths.labDir, "images"),
    sshConfig: join(paths.labDir, "ssh_config"),
    lockFile: join(paths.dir, "lab.lock"),
    names: labNames(paths.labDir),
    progress: opts.onProgress ?? (() => {}),
  } as const;
}

/** The resolved context of one lab. */
export type LabContext = ReturnType<typeof labContext>;
