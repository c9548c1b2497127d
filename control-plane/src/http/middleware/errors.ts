import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { AppError, PayloadTooLargeError, TooManyRequestsError, ValidationError } from "../../errors.js";

/** Turns a zod failure into the 400 that names each field and what to fix. */
export function fromZod(error: ZodError, where: "body" | "query" | "params"): ValidationError {
  const details = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join(".") : where,
    reason: issue.message,
  }));
  const first = details[0]!;
  return new ValidationError(`${first.field}: ${first.reason}`, details);
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** The one place errors become responses. Client mistakes get their 4xx; anything else is a logged 500. */
export function errorHandler(logger: Logger, bodyLimit: string): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let appError: AppError;
    const parserError = error as BodyParserError;
    if (error instanceof AppError) {
      appError = error;
    } else if (error instanceof ZodError) {
      appError = fromZod(error, "body");
    } else if (parserError?.type === "entity.too.large") {
      appError = new PayloadTooLargeError(bodyLimit);
    } else if (parserError?.type === "entity.parse.failed") {
      appError = new AppError(400, "invalid_json", "the request body is not valid JSON");
    } else if (parserError?.type === "encoding.unsupported" || parserError?.type === "charset.unsupported") {
      appError = new AppError(415, "unsupported_encoding", "send the body as UTF-8 JSON");
    } else if (typeof parserError?.status === "number" && parserError.status >= 400 && parserError.status < 500) {
      appError = new AppError(parserError.status, "bad_request", "the request could not be read");
    } else {
      logger.error({ err: error, method: req.method, path: req.path }, "request failed");
      appError = new AppError(500, "internal_error", "the server failed to handle the request; see its log");
    }
    if (appError instanceof TooManyRequestsError) res.set("Retry-After", String(appError.retryAfterSeconds));
    res.status(appError.status).json({
      error: { code: appError.code, message: appError.message, ...(appError.details ? { details: appError.details } : {}) },
    });
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(404, "no_such_route", `there is no ${req.method} ${req.path}; see /api/v1/openapi.json`));
};
