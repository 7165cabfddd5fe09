import type { Command } from "commander";

export function registerCron(_program: Command): void {}
