/**
 * OpenSSH joins a remote command's arguments with spaces and the server's login shell parses the
 * result again, so every remote command is built here as one string of single-quoted words.
 * POSIX single quotes take everything literally but the quote itself, which becomes '\''.
 */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new TypeError("a shell word cannot hold a NUL byte");
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** One command line for the remote shell: each argument quoted, none ever interpreted. */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError("a remote command needs at least one word");
  return argv.map(shellQuote).join(" ");
}
