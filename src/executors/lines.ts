import { StringDecoder } from "node:string_decoder";

/**
 * Turns a byte stream into lines. A line longer than `maxChars` is cut there and the rest of it
 * dropped, so a process that never prints a newline cannot grow memory without bound.
 */
export class LineSplitter {
  // Per stream: a multi-byte character or a line may be split across chunks.
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";
  /** Inside an over-long line whose head was already emitted. */
  private skipping = false;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxChars = 4096,
  ) {}

  push(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk));
  }

  end(): void {
    this.feed(this.decoder.end());
    if (!this.skipping && this.partial !== "") this.line(this.partial);
    this.partial = "";
    this.skipping = false;
  }

  private feed(text: string): void {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      if (!this.skipping) this.line(this.partial + text.slice(start, nl));
      this.partial = "";
      this.skipping = false;
      start = nl + 1;
    }
    if (this.skipping || start === text.length) return;
    this.partial += text.slice(start);
    if (this.partial.length > this.maxChars) {
      this.line(this.partial);
      this.partial = "";
      this.skipping = true;
    }
  }

  private line(text: string): void {
    const line = text.endsWith("\r") ? text.slice(0, -1) : text;
    this.emit(line.length > this.maxChars ? `${line.slice(0, this.maxChars)}… (line truncated)` : line);
  }
}
