/** Where the store was imported from before it was split by concern. */
export { PostgresStore, type PostgresStoreOptions } from "./store.js";
