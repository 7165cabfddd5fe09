// `node scripts/clean.mjs <dir>...`: removes build folders before they are made again. tsc never
// deletes the output of a source that moved or went away, and the package ships all of dist/.
import { rmSync } from "node:fs";

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true });
