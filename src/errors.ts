/**
 * One error type for the whole tool. A user error is something the user can fix (bad config,
 * a taken port, a broken app): the CLI prints its message and exits 1. Anything else is a
 * system error: the CLI prints the stack and the cause chain.
 */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "CONFIG_MISSING"
  | "ENGINE_UNAVAILABLE"
  | "IMAGE_BUILD_FAILED"
  | "BOOTSTRAP_FAILED"
  | "APP_BUILD_FAILED"
  | "APP_START_FAILED"
  | "NOT_READY"
  | "PORT_TAKEN"
  | "STACK_NOT_FOUND"
  | "STACK_RUNNING"
  | "SERVICE_UNKNOWN"
  | "LINK_ERROR"
  | "TOXIC_INVALID"
  | "CLOUDINARY_ERROR"
  | "RELOAD_FAILED"
  | "INTERNAL";

const USER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "CONFIG_INVALID",
  "CONFIG_MISSING",
  "ENGINE_UNAVAILABLE",
  "IMAGE_BUILD_FAILED",
  "BOOTSTRAP_FAILED",
  "APP_BUILD_FAILED",
  "APP_START_FAILED",
  "NOT_READY",
  "PORT_TAKEN",
  "STACK_NOT_FOUND",
  "STACK_RUNNING",
  "SERVICE_UNKNOWN",
  "TOXIC_INVALID",
  "RELOAD_FAILED",
]);

export class ProdlikeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProdlikeError";
    this.code = code;
  }

  isUserError(): boolean {
    return USER_CODES.has(this.code);
  }
}

export function isProdlikeError(err: unknown, code?: ErrorCode): err is ProdlikeError {
  return err instanceof ProdlikeError && (code === undefined || err.code === code);
}

/** The last `count` lines of a log, indented, for error messages. */
export function tailLines(text: string, count = 20): string {
  const lines = text.replace(/\s+$/, "").split("\n");
  return lines
    .slice(-count)
    .map((line) => `    ${line}`)
    .join("\n");
}
