import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { tempDir } from "../helpers/tmp.js";
import { runStoreConformance } from "./conformance/index.js";

runStoreConformance("sqlite", async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, "runway.db");
  const store = new SqliteStore({ path });
  return {
    store,
    reopen: async () => new SqliteStore({ path }),
    cleanup: async () => {
      await store.close();
      tmp.cleanup();
    },
  };
});
