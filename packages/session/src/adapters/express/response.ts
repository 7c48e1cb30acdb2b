/**
 * The response side of `tessera-session/express`: the session cookie is added when the
 * headers leave (`writeHead`, after the headers passed to it, so cookies the app set before
 * or inside `writeHead` are kept), and the session is saved before `res.end` completes.
 * A save that fails before anything was sent reaches `next(err)` instead of the response.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type SessionLogger, withHttpStatus } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Controller } from './controller.js';

type Next = (error?: unknown) => void;
type AnyFunction = (...args: unknown[]) => unknown;

/** Applies `writeHead`'s header argument with `setHeader`, as the on-headers package does. */
function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [name, value] of headers as [string, string][]) res.setHeader(name, value);
      return;
    }
    for (let i = 0; i + 1 < headers.length; i += 2) {
      res.setHeader(String(headers[i]), headers[i + 1] as string);
    }
    return;
  }
  if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}

/**
 * The error `next` receives: Tessera's own errors with their HTTP status (503 for a store
 * that did not answer in time, 403 for CSRF); a store's own error unchanged, as
 * express-session passes it.
 * @example next(toNextError(error));
 */
export function toNextError(error: unknown): unknown {
  return error instanceof TesseraError ? withHttpStatus(error) : error;
}

function hookWriteHead(res: ServerResponse, onHeaders: () => void): void {
  const original = res.writeHead as unknown as AnyFunction;
  let fired = false;
  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    if (fired) return original.apply(this, args);
    fired = true;
    const [status, second, third] = args;
    const headers = typeof second === 'string' ? third : second;
    if (headers !== undefined) applyHeaders(res, headers);
    onHeaders();
    return typeof second === 'string'
      ? original.call(this, status, second)
      : original.call(this, status);
  } as typeof res.writeHead;
}

/**
 * Hooks one response.
 * @example hookResponse(res, controller, next, logger);
 */
export function hookResponse(
  res: ServerResponse,
  controller: Controller,
  next: Next,
  logger: SessionLogger,
): void {
  const originalEnd = res.end as unknown as AnyFunction;
  let ending = false;
  let ended = false;
  let early: unknown;

  hookWriteHead(res, () => {
    if (ending) return;
    try {
      controller.flushCookie();
    } catch (error) {
      early = error;
    }
  });

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    if (ended) return originalEnd.apply(this, args);
    // A second end() while the session is being saved is ignored, as express-session does.
    if (ending) return false;
    ending = true;
    let finish: Promise<void> | undefined;
    try {
      finish = early === undefined ? controller.finish() : Promise.reject(early);
    } catch (error) {
      finish = Promise.reject(error);
    }
    // Nothing to write: end now, as express-session does for an unchanged session.
    if (finish === undefined) {
      ended = true;
      return originalEnd.apply(this, args);
    }
    finish.then(
      () => {
        ended = true;
        originalEnd.apply(res, args);
      },
      (error: unknown) => {
        if (res.headersSent) {
          // The response already left; it cannot become an error page any more.
          logger.warn(
            `tessera: session could not be saved after a streamed response (${String(error)})`,
          );
          ended = true;
          originalEnd.apply(res, args);
          setImmediate(next, toNextError(error));
          return;
        }
        // Nothing the handler prepared goes out: not its body, not its cookies or redirect.
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.end = originalEnd as typeof res.end;
        next(toNextError(error));
      },
    );
    return this;
  } as typeof res.end;
}
