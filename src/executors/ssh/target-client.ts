import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { RunwayError } from "../../core/errors.js";
import type { Target } from "../../core/target.js";
import { type SshConnection, TransportError } from "./connection.js";
import { type StatusSnapshot, type Verdict, parseStatus } from "./evidence.js";
import { markedBytes, markedLines } from "./protocol.js";

function script(name: string): string {
  return readFileSync(new URL(`./server/${name}.sh`, import.meta.url), "utf8");
}

let digest: string | null = null;
/** A digest of the server scripts: a server running any other version gets these installed. */
export function serverVersion(): string {
  digest ??= createHash("sha256").update(script("runway-ctl")).update(script("runway-wrapper")).digest("hex").slice(0, 12);
  return digest;
}

/** The server answered, but not with success: what runway-ctl said is the message. */
export class RemoteCommandError extends RunwayError {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super("unreachable", message);
  }
}

/** rsync could not copy the project; the job fails with this, the queue goes on. */
export class SyncError extends Error {
  override name = "SyncError";
}

export type LaunchAnswer = { state: "launched" } | { state: "already"; status: string } | { state: "busy"; running: number };

const ALWAYS_EXCLUDED = [".git/", "__pycache__/", "*.pyc", ".venv/", "node_modules/", ".mypy_cache/", ".pytest_cache/"];

/** A server's group name for the launch limit: the target's name in the characters runway-ctl accepts. */
function groupOf(target: Target): string {
  return target.name.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** What runway does on one target, each step one ssh call over the shared connection. */
export class TargetClient {
  private installed: Promise<void> | null = null;
  /** The snapshot the next sync hard-links unchanged files against. */
  private lastSnapshot: string | null = null;

  constructor(
    readonly target: Target,
    readonly conn: SshConnection,
  ) {}

  private get ctl(): string {
    return `${this.target.dir}/bin/runway-ctl`;
  }

  /** Runs runway-ctl; its marked output on success, a RemoteCommandError with its complaint otherwise. */
  private async call(args: string[], o: { stdin?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const r = await this.conn.exec(["bash", this.ctl, ...args], { timeoutMs: 30_000, ...o });
    if (r.code !== 0) {
      const said = r.stderr.split("\n").filter((l) => l.startsWith("runway-ctl:")).pop() ?? r.stderr.trim().split("\n").pop() ?? "";
      throw new RemoteCommandError(said.replace(/^runway-ctl: /, "") || `runway-ctl ${args[0]} exited with ${r.code}`, r.code);
    }
    const body = markedBytes(r.stdout);
    if (body === null) throw new TransportError(`${this.target.host}: runway-ctl ${args[0]} gave no answer (cut off?)`);
    return r.stdout;
  }

  private async lines(args: string[], o: { stdin?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const out = await this.call(args, o);
    const lines = markedLines(out);
    if (lines === null) throw new TransportError(`${this.target.host}: runway-ctl ${args[0]}'s answer was cut off`);
    return lines;
  }

  /** The installed server scripts' version, or null when there are none. */
  async serverVersion(): Promise<string | null> {
    const r = await this.conn.exec(["bash", this.ctl, "version"], { timeoutMs: 30_000 });
    const lines = r.code === 0 ? markedLines(r.stdout) : null;
    const v = lines?.find((l) => l.startsWith("version "));
    return v ? v.slice(8) : null;
  }

  /** Installs or upgrades the wrapper and helper when they are missing or older, and initialises the server database. Idempotent. */
  ensureInstalled(force = false): Promise<void> {
    if (force) this.installed = null;
    this.installed ??= (async () => {
      const version = force ? null : await this.serverVersion();
      if (version === serverVersion()) return;
      for (const name of ["runway-wrapper", "runway-ctl"]) {
        // Written whole, then renamed: a run starting meanwhile never reads half a script.
        const r = await this.conn.exec(
          ["sh", "-c", 'umask 077 && mkdir -p "$1/bin" && cat > "$1/bin/$2.new" && chmod 700 "$1/bin/$2.new" && mv -f "$1/bin/$2.new" "$1/bin/$2"', "sh", this.target.dir, name],
          { stdin: script(name).replace("@VERSION@", serverVersion()), timeoutMs: 30_000 },
        );
        if (r.code !== 0) throw new RemoteCommandError(`cannot install ${name} in ${this.target.dir}/bin: ${r.stderr.trim()}`, r.code);
      }
      await this.lines(["init"]);
    })().catch((err) => {
      this.installed = null;
      throw err;
    });
    return this.installed;
  }

  /**
   * Copies the local project into a fresh snapshot for the run, hard-linking unchanged files to
   * the previous snapshot. A failure of rsync itself is a SyncError; ssh's is a TransportError.
   */
  async sync(runId: string, source: string, signal?: AbortSignal): Promise<void> {
    const args = ["-a", "-z", "--delete", "--partial", "--quiet"];
    for (const p of ALWAYS_EXCLUDED) args.push(`--exclude=${p}`);
    args.push("--filter=:- .gitignore");
    for (const p of this.target.excludes) args.push(`--exclude=${p}`);
    // Relative to the destination: ../<previous run>.
    if (this.lastSnapshot) args.push(`--link-dest=../${this.lastSnapshot}`);
    args.push("-e", this.conn.rsyncShell());
    args.push(`${source.replace(/\/+$/, "")}/`, `${this.conn.dest.host}:${this.target.dir}/snapshots/${runId}/`);
    const r = await runRsync(args, signal);
    if (r.code === 0 || r.code === 24) {
      // 24: files vanished while copying (an editor's temporary file): the copy is good.
      this.lastSnapshot = runId;
      return;
    }
    const detail = rsyncDetail(r.stderr, r.code);
    // A transport failure leaves the job queued; anything else is the project's problem.
    if (r.code === 255 || /ssh: connect|Connection (refused|closed|reset)|Host key verification failed|Permission denied \(publickey/.test(r.stderr)) {
      throw new TransportError(`${this.target.host}: ${detail}`);
    }
    throw new SyncError(`Failed to sync project files: ${detail}`);
  }

  /** Starts the run detached in tmux, unless it exists already (idempotent) or the target is full. */
  async launch(p: { runId: string; script: string; snapshot: boolean; signal?: AbortSignal }): Promise<LaunchAnswer> {
    const lines = await this.lines(
      ["launch", p.runId, groupOf(this.target), String(this.target.concurrency), p.snapshot ? "snapshot" : "home"],
      { stdin: p.script, timeoutMs: 60_000, signal: p.signal },
    );
    const [word, arg] = (lines[0] ?? "").split(" ");
    if (word === "launched") return { state: "launched" };
    if (word === "already") return { state: "already", status: arg ?? "" };
    if (word === "busy") return { state: "busy", running: Number(arg) };
    throw new TransportError(`${this.target.host}: unexpected answer to launch: ${lines.join(" ")}`);
  }

  /** Evidence about the runs; waits on the server up to `waitMs` for one of them to end. */
  async status(runIds: string[], waitMs: number, signal?: AbortSignal): Promise<StatusSnapshot> {
    const lines = await this.lines(["status", String(Math.max(0, Math.round(waitMs))), ...runIds], { timeoutMs: waitMs + 30_000, signal });
    return parseStatus(lines);
  }

  /** TERM to the run's process group, KILL after `graceS`; the wrapper records it as cancelled. */
  async cancel(runId: string, graceS = 5): Promise<string> {
    const lines = await this.lines(["cancel", runId, String(graceS)], { timeoutMs: (graceS + 30) * 1000 });
    return lines[0] ?? "";
  }

  /** Writes the verdict into the server's row when it is not final there yet, and lets the run's pane go. */
  async close(runId: string, v?: Extract<Verdict, { state: "ended" }>): Promise<void> {
    const args = ["close", runId];
    if (v?.settle) {
      args.push(v.status, v.exitCode === null ? "-" : String(v.exitCode), v.signal === null ? "-" : String(v.signal), (v.reason ?? "").replace(/[^A-Za-z0-9_:./=-]/g, "_").slice(0, 200));
    }
    await this.lines(args);
  }

  /** Removes the runs that ended more than `olderThanS` seconds ago (their files and rows) from the server; returns how many. */
  async prune(olderThanS: number): Promise<number> {
    await this.ensureInstalled();
    const lines = await this.lines(["prune", String(Math.max(0, Math.floor(olderThanS)))], { timeoutMs: 300_000 });
    return Number(/^pruned (\d+)$/.exec(lines[0] ?? "")?.[1] ?? 0);
  }

  /** Bytes of the run's output from `offset`; `ended` says the run looks finished. */
  async tail(runId: string, offset: number, max = 1 << 20): Promise<{ size: number; ended: boolean; bytes: Buffer }> {
    const out = await this.call(["tail", runId, String(offset), String(max)]);
    const body = markedBytes(out)!;
    const nl = body.indexOf("\n");
    const m = /^size (\d+) ended ([01])$/.exec(body.subarray(0, nl).toString("utf8"));
    if (!m) throw new TransportError(`${this.target.host}: unexpected answer to tail`);
    const size = Number(m[1]);
    const bytes = body.subarray(nl + 1, nl + 1 + Math.max(0, Math.min(max, size - offset)));
    return { size, ended: m[2] === "1", bytes };
  }
}

function runRsync(args: string[], signal?: AbortSignal): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("rsync", args, { stdio: ["ignore", "ignore", "pipe"], signal });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", (e) => {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") reject(new SyncError("Failed to sync project files: rsync is not installed here; install it (e.g. apt-get install rsync)"));
      else if (e.name === "AbortError") reject(new TransportError("the sync was abandoned"));
      else reject(e);
    });
    child.on("close", (code) => resolve({ code: code ?? 255, stderr }));
  });
}

/** rsync's own words, without its boilerplate lines. */
function rsyncDetail(stderr: string, code: number): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^rsync error: some files\/attrs were not transferred|^\(see the rsync man ?page/.test(l));
  const text = lines.slice(0, 3).join("; ");
  if (/protocol version mismatch|is your shell clean/i.test(stderr)) {
    return `${text} (the server's login shell prints text for non-interactive sessions; make ~/.bashrc quiet when not interactive)`;
  }
  return text || `rsync exited with ${code}`;
}
