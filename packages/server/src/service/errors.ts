/**
 * One error → HTTP response mapping for the service. A `TesseraError` gets its status from
 * the library's table (`httpStatusOf` in `tessera-session`), so the service, the adapters and
 * the token guard agree; body-parser failures and the service's own `ApiError`s are mapped
 * here. API paths answer JSON `{error, message}`, pages answer HTML.
 */
import type { NextFunction, Request, Response } from 'express';
import { httpStatusOf, isTesseraError, type TesseraError } from 'tessera-session';
import { type AppDeps, clientIp, isApi } from './context.js';
import { renderError } from './pages.js';

/** An API error with its HTTP status and a stable `error` code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** What a failed request is answered with. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
}

/**
 * A 401 for a missing, invalid or ended credential.
 * @example throw invalidToken('sign in first');
 */
export function invalidToken(message: string): ApiError {
  return new ApiError(401, 'invalid_token', message);
}

function answer(status: number, code: string, message: string, headers = {}): ErrorAnswer {
  return { status, code, message, headers };
}

function describeTessera(error: TesseraError): ErrorAnswer {
  const status = httpStatusOf(error);
  const message = error.message;
  switch (status) {
    case 401:
      return answer(401, 'invalid_token', 'the session has ended; sign in again');
    case 403:
      return answer(403, 'forbidden', message);
    case 409:
      return answer(
        409,
        error.code === 'ERR_SESSION_LIMIT' ? 'session_limit' : 'conflict',
        message,
      );
    case 503:
      return answer(
        503,
        'store_unavailable',
        'the session store is unavailable; try again shortly',
        {
          'Retry-After': '5',
        },
      );
    case 400:
      return answer(400, 'bad_request', message);
    default:
      return answer(500, 'internal_error', 'something went wrong on our side');
  }
}

const PARSER_ERRORS: Record<string, (message: string) => ErrorAnswer> = {
  'entity.too.large': () =>
    answer(413, 'payload_too_large', 'request body is too large (at most 16 KiB)'),
  'entity.parse.failed': () => answer(400, 'invalid_json', 'request body is not valid JSON'),
  'charset.unsupported': (message) => answer(415, 'unsupported_media_type', message),
  'encoding.unsupported': (message) => answer(415, 'unsupported_media_type', message),
  'parameters.too.many': () => answer(413, 'payload_too_large', 'too many form fields'),
};

/**
 * The answer to any error a route or middleware threw.
 * @example describeError(new ApiError(404, 'not_found', 'no such page')).status // 404
 */
export function describeError(error: unknown): ErrorAnswer {
  if (error instanceof ApiError) {
    return answer(error.status, error.code, error.message, error.headers);
  }
  if (isTesseraError(error)) return describeTessera(error);
  const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const parser = typeof e?.type === 'string' ? PARSER_ERRORS[e.type] : undefined;
  if (parser) return parser(String(e.message));
  const status =
    typeof e?.status === 'number'
      ? e.status
      : typeof e?.statusCode === 'number'
        ? e.statusCode
        : 500;
  if (status >= 400 && status < 500) {
    return answer(status, 'bad_request', 'the request could not be understood');
  }
  return answer(500, 'internal_error', 'something went wrong on our side');
}

/**
 * Sends an error: JSON on `/api/*` (with `WWW-Authenticate` on 401), an HTML page elsewhere.
 * Never cached.
 * @example sendError(req, res, 404, 'not_found', 'No such page.', config.demo);
 */
export function sendError(
  req: Request,
  res: Response,
  failure: Pick<ErrorAnswer, 'status' | 'code' | 'message'>,
  demo: boolean,
): void {
  const { status, code, message } = failure;
  res.setHeader('Cache-Control', 'no-store');
  if (isApi(req)) {
    // One generic challenge: which check a token failed is for the logs, not for a prober.
    // A DPoP refusal (RFC 9449 §7.1) brings its own challenge.
    if (status === 401 && !res.hasHeader('WWW-Authenticate')) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    }
    res.status(status).json({ error: code, message });
    return;
  }
  res
    .status(status)
    .type('html')
    .send(renderError({ demo }, status, message));
}

function errorSummary(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, code: (error as { code?: unknown }).code };
  }
  return { message: String(error) };
}

/**
 * The app's last middleware: logs CSRF refusals and server failures, answers the error.
 * @example app.use(createErrorHandler(deps));
 */
export function createErrorHandler(
  deps: Pick<AppDeps, 'metrics' | 'logger' | 'config'>,
): (error: unknown, req: Request, res: Response, next: NextFunction) => void {
  return (error, req, res, _next) => {
    const failure = describeError(error);
    if (failure.status === 403 && failure.code === 'forbidden') {
      deps.metrics.csrfBlocks.inc();
      deps.logger.warn(
        { event: 'csrf_block', path: req.path, ip: clientIp(req), reason: failure.message },
        'request refused',
      );
    } else if (failure.status >= 500) {
      deps.logger.error(
        { event: 'error', path: req.path, code: failure.code, err: errorSummary(error) },
        'request failed',
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
    sendError(req, res, failure, deps.config.demo);
  };
}
