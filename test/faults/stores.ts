/** Both stores for the fault scenarios: a fresh SQLite file, or a fresh PostgreSQL schema. */
import { join } from "node:path";
import { open } from "../../src/runtime/runway.js";
import type { Store } from "../../src/store/store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";

export type StoreKind = "sqlite" | "postgres";
export const STORE_KINDS: StoreKind[] = ["sqlite", "postgres"];

export interface FaultStore {
  kind: StoreKind;
  /** The location worker processes open. */
  db: string;
  store: Store;
  log: string;
  close(): Promise<void>;
}

export async function faultStore(kind: StoreKind, dir: string, name: string): Promise<FaultStore> {
  if (kind === "sqlite") {
    const db = join(dir, `${name}.db`);
    const rw = open({ db });
    return { kind, db, store: rw.store, log: join(dir, `${name}.log`), close: () => rw.close() };
  }
  await requirePostgres();
  const schema = freshSchema(name.replace(/[^a-z0-9_]/gi, "_").slice(0, 20));
  const db = `${PG_URL}?schema=${schema}`;
  const rw = open({ db, poolSize: 4 });
  rw.on("warning", () => {});
  return {
    kind,
    db,
    store: rw.store,
    log: join(dir, `${schema}.log`),
    close: async () => {
      await rw.close();
      await dropSchema(schema);
    },
  };
}
