import Table from "cli-table3";

/** A plain table for a terminal: no borders, columns padded, long cells left as they are. */
export function table(head: string[], rows: string[][]): string {
  const t = new Table({
    head,
    chars: {
      top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "",
      "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
    },
    style: { head: process.stdout.isTTY && !process.env.NO_COLOR ? ["bold"] : [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  t.push(...rows);
  return `${t.toString().split("\n").map((l) => l.trimEnd()).join("\n")}\n`;
}
