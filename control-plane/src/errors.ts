/**
 * Errors that carry their HTTP meaning. Services throw these; the one error middleware turns them into
 * `{ error: { code, message, details } }` with the right status. `code` is stable: clients match on it.
 */
export interface FieldProblem {
  field: string;
  reason: string;
}

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: FieldProblem[] = []) {
    super(400, "validation_failed", message, details);
  }
  static field(field: string, reason: string): ValidationError {
    return new ValidationError(`${field}: ${reason}`, [{ field, reason }]);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "an API key is required: send it in the x-api-key header", code = "unauthorized") {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code = "forbidden") {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(kind: string, id: string) {
    super(404, "not_found", `no ${kind} with id "${id}"`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: FieldProblem[]) {
    super(409, "conflict", message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limit: string) {
    super(413, "payload_too_large", `the request body is larger than the limit of ${limit}`);
  }
}

/** Too many attempts: the reply carries `Retry-After` with the seconds to wait. */
export class TooManyRequestsError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, "too_many_requests", message);
  }
}
