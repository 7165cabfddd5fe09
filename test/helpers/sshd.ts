/** The loopback sshd the benchmark uses, for the remote-target tests. */
export { type Sshd, ensureSshTools, freePort, startSshd } from "../../bench/src/loopback-sshd.js";
