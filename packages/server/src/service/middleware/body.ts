/**
 * Body parsing with small limits: JSON for the API, URL-encoded forms for pages, and a
 * guard that answers 415 when a body comes in another media type.
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { ApiError } from '../errors.js';

/** A strict JSON body of at most 16 KiB (parsed whatever the Content-Type claims; see requireType). */
export const jsonBody: RequestHandler = express.json({
  limit: '16kb',
  strict: true,
  type: () => true,
});

/** A URL-encoded form of at most 16 KiB and 20 fields. */
export const formBody: RequestHandler = express.urlencoded({
  extended: false,
  limit: '16kb',
  parameterLimit: 20,
  type: () => true,
});

/**
 * 415 unless the request's Content-Type is `type`.
 * @example router.post('/api/token', requireType('application/json'), jsonBody, handler);
 */
export function requireType(type: string): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(
      req.is(type)
        ? undefined
        : new ApiError(415, 'unsupported_media_type', `send the body as ${type}`),
    );
  };
}

/** A form body's fields (empty when there is none). */
export function formFields(req: Request): Record<string, unknown> {
  return (req.body ?? {}) as Record<string, unknown>;
}
