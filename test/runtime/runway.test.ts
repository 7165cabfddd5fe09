import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError, open } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();

describe("the library API on bad input", () => {
  const rw = open({ db: join(tmp.dir, "api.db") });

  it("throws typed errors and writes nothing", async () => {
    await expect(rw.add("k", { n: 1n } as never)).rejects.toThrow(ValidationError);
    await expect(rw.add("k", null, { priority: "P7" as never })).rejects.toThrow(/priority/);
    await expect(rw.add("k", null, { dependsOn: ["nope"] })).rejects.toThrow(/unknown job nope/);
    await expect(rw.addMany([{ kind: "k" }, { kind: "k", backoff: "never" }])).rejects.toThrow(/jobs\[1\]\.backoff/);
    expect(await rw.list()).toEqual([]);
  });

  it("refuses control calls on unknown queues and jobs, and transitions that are not allowed", async () => {
    await expect(rw.pause("ghost")).rejects.toThrow(NotFoundError);
    await expect(rw.setConcurrency("ghost", 2)).rejects.toThrow(/queue "ghost" does not exist/);
    await expect(rw.cancel("01j0000000000000000000000")).rejects.toThrow(NotFoundError);
    const job = await rw.add("k", null);
    await rw.skip(job.id);
    await expect(rw.skip(job.id)).rejects.toThrow(ConflictError);
    await expect(rw.prune({ olderThan: "a while" })).rejects.toThrow(/olderThan: not a duration/);
  });

  it("closes cleanly", async () => {
    await rw.close();
    tmp.cleanup();
  });
});
