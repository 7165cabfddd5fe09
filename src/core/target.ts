import { ValidationError } from "./errors.js";

/**
 * A remote host jobs can run on: an SSH destination, the directory runway keeps there, the local
 * project synced for each job and how many of its jobs may run at once.
 */
export interface Target {
  name: string;
  /** `[user@]host`, or a Host alias of ~/.ssh/config. */
  host: string;
  port: number | null;
  /** A private key file (absolute path); null: ssh's own choice (agent, config, defaults). */
  identity: string | null;
  /** Where runway keeps its files on the server: relative to the remote home, or absolute. */
  dir: string;
  /** A local directory copied into a fresh snapshot on the server for each job; null: nothing synced. */
  sync: string | null;
  /** rsync patterns left out of the sync, on top of the built-in ones. */
  excludes: string[];
  /** Jobs running on the target at once, across every worker. */
  concurrency: number;
  createdAt: number;
  /** What the last contact found. */
  reachable: boolean | null;
  message: string | null;
  checkedAt: number | null;
}

export type TargetSpec = Pick<Target, "name" | "host"> &
  Partial<Pick<Target, "port" | "identity" | "dir" | "sync" | "excludes" | "concurrency">>;

export const DEFAULT_TARGET_DIR = "runway";
export const TARGET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A spec with defaults filled and every field checked; paths are checked for shape, not existence. */
export function checkTarget(spec: TargetSpec): Omit<Target, "createdAt" | "reachable" | "message" | "checkedAt"> {
  const bad = (field: string, why: string) => new ValidationError(`target.${field}`, why);
  if (typeof spec.name !== "string" || !TARGET_NAME_RE.test(spec.name)) {
    throw bad("name", `${JSON.stringify(spec.name)} is not a valid target name; use 1-64 letters, digits and _ . - (starting with a letter or digit)`);
  }
  // A host that starts with "-" would be read by ssh as an option.
  if (typeof spec.host !== "string" || !/^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9_.:[\]-]+$/.test(spec.host) || /^-|@-/.test(spec.host)) {
    throw bad("host", `${JSON.stringify(spec.host)} is not an SSH destination; use host, user@host or a Host alias of ~/.ssh/config`);
  }
  const port = spec.port ?? null;
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw bad("port", `must be 1-65535, got ${port}`);
  const identity = spec.identity ?? null;
  if (identity !== null && (typeof identity !== "string" || !identity.startsWith("/") || /[\n\0]/.test(identity))) {
    throw bad("identity", "must be an absolute path to a private key file");
  }
  let dir = spec.dir ?? DEFAULT_TARGET_DIR;
  // ssh starts remote commands in the home directory, so "~/x" is simply "x".
  if (dir.startsWith("~/")) dir = dir.slice(2);
  dir = dir.replace(/\/+$/, "");
  // Plain characters only: the path travels inside rsync's and tmux's own command lines on the server.
  if (dir === "" || dir === "~" || !/^[A-Za-z0-9_./-]+$/.test(dir) || dir.split("/").includes("..")) {
    throw bad("dir", `${JSON.stringify(spec.dir)} cannot be runway's directory on the server; give a path under the remote home (e.g. runway) or an absolute one, of letters, digits and _ . / -`);
  }
  const sync = spec.sync ?? null;
  if (sync !== null && (typeof sync !== "string" || !sync.startsWith("/") || /[\n\0]/.test(sync))) {
    throw bad("sync", "must be an absolute path to a local directory");
  }
  const excludes = spec.excludes ?? [];
  if (!Array.isArray(excludes) || excludes.some((e) => typeof e !== "string" || e === "" || /[\n\0]/.test(e))) {
    throw bad("excludes", "must be a list of non-empty rsync patterns");
  }
  const concurrency = spec.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw bad("concurrency", `must be a whole number from 1 to 1000, got ${concurrency}`);
  return { name: spec.name, host: spec.host, port, identity, dir, sync, excludes, concurrency };
}
