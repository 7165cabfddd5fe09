import { beforeAll } from "vitest";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { PG_URL, dropSchema, freshSchema, requirePostgres } from "../helpers/pg.js";
import { runStoreConformance } from "./conformance.js";

beforeAll(requirePostgres);

runStoreConformance("postgres", async () => {
  const schema = freshSchema("conf");
  const store = new PostgresStore({ url: PG_URL, schema, poolSize: 4, onWarning: () => {} });
  const opened: PostgresStore[] = [];
  return {
    store,
    reopen: async () => {
      const s = new PostgresStore({ url: PG_URL, schema, poolSize: 4, onWarning: () => {} });
      opened.push(s);
      return s;
    },
    cleanup: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
});
