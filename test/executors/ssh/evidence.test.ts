import { describe, expect, it } from "vitest";
import { type RunEvidence, type RunRow, decide, parseStatus } from "../../../src/executors/ssh/evidence.js";

const BOOT = "boot-a";
const NOW = 1_000_000;
const row = (over: Partial<RunRow> = {}): RunRow => ({
  run_id: "r1",
  status: "RUNNING",
  reason: null,
  exit_code: null,
  signal: null,
  submitted_at: NOW - 100,
  started_at: NOW - 99,
  ended_at: null,
  boot_id: BOOT,
  wrapper_pid: 42,
  job_pgid: 43,
  ...over,
});
const ev = (over: Partial<RunEvidence> = {}): RunEvidence => ({
  runId: "r1",
  row: row(),
  dir: true,
  exitFile: null,
  wrapperAlive: false,
  groupAlive: false,
  lockHeld: false,
  cancelRequested: false,
  pane: null,
  tail: null,
  ...over,
});
const at = { bootId: BOOT, now: NOW };

describe("deciding a run's state from the server's evidence", () => {
  it("a final row is final, whatever else is seen", () => {
    expect(decide(ev({ row: row({ status: "FAILED", exit_code: 3 }), wrapperAlive: true }), at)).toMatchObject({ state: "ended", status: "FAILED", exitCode: 3, settle: false });
  });
  it("the exit-code file wins once the wrapper is gone (wrapper SIGKILLed, job finished)", () => {
    expect(decide(ev({ exitFile: 0 }), at)).toMatchObject({ state: "ended", status: "SUCCEEDED", reason: "recovered_from_exit_code_file", settle: true });
    expect(decide(ev({ exitFile: 143, cancelRequested: true }), at)).toMatchObject({ status: "CANCELLED", signal: 15 });
    expect(decide(ev({ exitFile: 0, wrapperAlive: true }), at)).toMatchObject({ state: "running" });
  });
  it("a changed boot id means the server rebooted under the run", () => {
    expect(decide(ev({ wrapperAlive: true, row: row({ boot_id: "boot-b" }) }), at)).toMatchObject({ status: "LOST", reason: "server_rebooted" });
  });
  it("a live wrapper, or a live job group or held lock without one, is still running", () => {
    expect(decide(ev({ wrapperAlive: true }), at)).toEqual({ state: "running", note: null });
    expect(decide(ev({ groupAlive: true }), at)).toEqual({ state: "running", note: "wrapper_lost_job_alive" });
    expect(decide(ev({ lockHeld: true }), at)).toEqual({ state: "running", note: "wrapper_lost_job_alive" });
  });
  it("a launch whose wrapper never came up gets a grace period, then fails as never started", () => {
    const starting = row({ status: "STARTING", wrapper_pid: null, boot_id: null, started_at: null });
    expect(decide(ev({ row: { ...starting, submitted_at: NOW - 10 } }), at)).toEqual({ state: "starting" });
    expect(decide(ev({ row: { ...starting, submitted_at: NOW - 61 } }), at)).toMatchObject({ status: "FAILED", reason: "never_started" });
  });
  it("wrapper and job both gone without a trace: lost, with the pane's last word", () => {
    expect(decide(ev({ pane: "1//9" }), at)).toMatchObject({ status: "LOST", reason: "wrapper_and_job_gone:pane=1//9", settle: true });
  });
  it("no row: launching (a directory) or never launched at all", () => {
    expect(decide(ev({ row: null }), at)).toEqual({ state: "starting" });
    expect(decide(ev({ row: null, dir: false }), at)).toEqual({ state: "missing" });
  });
  it("parses runway-ctl status output, NULLs and all", () => {
    const snap = parseStatus([
      "boot b-1",
      "now 123.5",
      `row ${JSON.stringify(row({ run_id: "r1", boot_id: null }))}`,
      "run r1 dir=1 exit=7 wrapper=dead group=dead lock=free cancel=0 pane=1/7/",
      `tail r1 ${Buffer.from("last words\n").toString("base64")}`,
      "run r2 dir=0",
    ]);
    expect(snap.bootId).toBe("b-1");
    expect(snap.now).toBe(123.5);
    expect(snap.runs.get("r1")).toMatchObject({ exitFile: 7, wrapperAlive: false, pane: "1/7/", row: { boot_id: null } });
    expect(snap.runs.get("r1")!.tail!.toString()).toBe("last words\n");
    expect(snap.runs.get("r2")).toMatchObject({ dir: false, row: null });
  });
});
