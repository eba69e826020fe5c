// Errors that cross layers. Each carries enough for the API to map it to a status code and a
// message naming the field at fault.

export interface FieldIssue {
  /** Dotted path of the field at fault, e.g. `Proxy.Upstreams[0].LocalBindPort`. */
  readonly path: string;
  readonly message: string;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly issues: readonly FieldIssue[],
    context?: string,
  ) {
    super(`${context ? `${context}: ` : ''}${issues.map(formatIssue).join('; ')}`);
  }

  static of(path: string, message: string, context?: string): ValidationError {
    return new ValidationError([{ path, message }], context);
  }
}

function formatIssue(issue: FieldIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A check-and-set or precondition failed; nothing was written. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
  constructor(
    message: string,
    /** When trying again may succeed (the HTTP API sends it as Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Cannot be served now, for a reason that will pass (a secondary CA waiting for the primary). */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
