/**
 * Every error runway raises on purpose is a RunwayError with a stable `code`, so the CLI and
 * the HTTP API can print one clear line (and pick an exit or status code) instead of a stack.
 */
export type ErrorCode =
  | "invalid_input"
  | "not_found"
  | "conflict"
  | "store_unavailable"
  | "unreachable";

export class RunwayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input: names the field and what is allowed. Nothing was written. */
export class ValidationError extends RunwayError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("invalid_input", field ? `${field}: ${message}` : message);
    this.field = field;
  }
}

/** An unknown job or queue. */
export class NotFoundError extends RunwayError {
  constructor(what: "job" | "queue" | "target", id: string) {
    super(
      "not_found",
      what === "job"
        ? `job ${id} does not exist`
        : what === "queue"
          ? `queue "${id}" does not exist (queues are created when their first job is added)`
          : `target "${id}" does not exist; add it with: runway target add ${id} --host [user@]host`,
    );
  }
}

/** A transition the job's status does not allow, e.g. skipping a completed job. */
export class ConflictError extends RunwayError {
  constructor(message: string) {
    super("conflict", message);
  }
}

export class StoreUnavailableError extends RunwayError {
  constructor(message: string) {
    super("store_unavailable", message);
  }
}

export function isRunwayError(err: unknown): err is RunwayError {
  return err instanceof RunwayError;
}
