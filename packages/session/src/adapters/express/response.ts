/**
 * The response side of `tessera-session/express`: the session cookie is added when the
 * headers leave (`writeHead`, after the headers passed to it, so cookies the app set before
 * or inside `writeHead` are kept), and the session is saved before `res.end` completes.
 * A save that fails before anything was sent reaches `next(err)` instead of the response.
 *
 * Under Express the hooks are installed once, on Express's own base response object (the
 * prototype every app's `res` inherits from, sub-apps included): a response finds its
 * request's {@link ResponseHook} through `res.req` and does nothing more when it has none.
 * No per-request `res.end`/`res.writeHead` own properties are made. A response that is
 * not Express's (a bare `node:http` server) gets per-request wrappers instead.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type SessionLogger, withHttpStatus } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Controller } from './controller.js';

type Next = (error?: unknown) => void;
type AnyFunction = (...args: unknown[]) => unknown;

/** Where a request keeps its {@link ResponseHook} (a symbol: invisible to the app). */
const HOOK: unique symbol = Symbol('tessera.express.hook');
/** Marks Express's base request/response objects once the hooks are installed. */
const INSTALLED: unique symbol = Symbol('tessera.express.installed');

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

/**
 * One request's response-time work: the cookie at `writeHead`, the save at `end`. Holds
 * nothing but flags until the response leaves.
 */
export class ResponseHook {
  /** The request's controller, once its session is attached. */
  controller: Controller | null = null;
  /** `req.sessionStore` (read through Express's base request object). */
  readonly store: unknown;
  /** `req.sessionControl`, made on first use. */
  control: unknown = null;
  /** `req.sessionID` (read through Express's base request object). */
  sessionId: string | undefined = undefined;
  readonly #next: Next;
  readonly #logger: SessionLogger;
  #fired = false;
  #ending = false;
  #ended = false;
  /** After a failed save: every later call goes straight to Node. */
  #bypass = false;
  #early: unknown;

  constructor(store: unknown, next: Next, logger: SessionLogger) {
    this.store = store;
    this.#next = next;
    this.#logger = logger;
  }

  writeHead(res: ServerResponse, original: AnyFunction, args: unknown[]): unknown {
    if (this.#fired || this.#bypass || this.controller === null) return original.apply(res, args);
    this.#fired = true;
    const [status, second, third] = args;
    const headers = typeof second === 'string' ? third : second;
    if (headers !== undefined) applyHeaders(res, headers);
    if (!this.#ending) {
      try {
        this.controller.flushCookie();
      } catch (error) {
        this.#early = error;
      }
    }
    return typeof second === 'string'
      ? original.call(res, status, second)
      : original.call(res, status);
  }

  end(res: ServerResponse, original: AnyFunction, args: unknown[]): unknown {
    const controller = this.controller;
    if (this.#ended || this.#bypass || controller === null) {
      this.#ended = true;
      return original.apply(res, args);
    }
    // A second end() while the session is being saved is ignored, as express-session does.
    if (this.#ending) return false;
    this.#ending = true;
    let finish: Promise<void> | undefined;
    try {
      finish = this.#early === undefined ? controller.finish() : Promise.reject(this.#early);
    } catch (error) {
      finish = Promise.reject(error);
    }
    // Nothing to write: end now, as express-session does for an unchanged session.
    if (finish === undefined) {
      this.#ended = true;
      return original.apply(res, args);
    }
    finish.then(
      () => {
        this.#ended = true;
        original.apply(res, args);
      },
      (error: unknown) => this.#failed(res, original, args, error),
    );
    return res;
  }

  #failed(res: ServerResponse, original: AnyFunction, args: unknown[], error: unknown): void {
    if (res.headersSent) {
      // The response already left; it cannot become an error page any more.
      this.#logger.warn(
        `tessera: session could not be saved after a streamed response (${String(error)})`,
      );
      this.#ended = true;
      original.apply(res, args);
      setImmediate(this.#next, toNextError(error));
      return;
    }
    // Nothing the handler prepared goes out: not its body, not its cookies or redirect.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    this.#bypass = true;
    this.#next(toNextError(error));
  }
}

type HookedRequest = { [HOOK]?: ResponseHook };
type Hooked = { req?: HookedRequest };

/**
 * Gives `req` its hook, as an own property (cheap once {@link settleShapes} has run).
 * @example placeHook(req, new ResponseHook(store, next, logger));
 */
export function placeHook(req: object, hook: ResponseHook): void {
  (req as HookedRequest)[HOOK] = hook;
}

/**
 * A request's hook, or undefined when this copy of the module did not hook it.
 * @example hookOf(req)?.sessionId
 */
export function hookOf(req: object | undefined): ResponseHook | undefined {
  return (req as HookedRequest | undefined)?.[HOOK];
}

/**
 * Express's base request or response object under `object`, or null: the first prototype
 * past the app's own objects (each Express app's, and sub-app's, `request`/`response` carry
 * their `app`), recognised by one of Express's own methods (`marker`). Not Node's prototypes:
 * an in-process driver (light-my-request) puts its own classes between Express and Node.
 */
function expressBase(object: object, marker: string): Record<PropertyKey, unknown> | null {
  let current: object | null = Object.getPrototypeOf(object);
  if (current === null || !Object.hasOwn(current, 'app')) return null;
  while (current !== null && Object.hasOwn(current, 'app'))
    current = Object.getPrototypeOf(current);
  if (current === null || !Object.hasOwn(current, marker)) return null;
  return current as Record<PropertyKey, unknown>;
}

function installOnResponse(base: Record<PropertyKey, unknown>): void {
  const inheritedEnd = base.end as AnyFunction;
  const inheritedWriteHead = base.writeHead as AnyFunction;
  Object.defineProperties(base, {
    end: {
      configurable: true,
      writable: true,
      value: function end(this: ServerResponse & Hooked, ...args: unknown[]) {
        const hook = hookOf(this.req);
        return hook === undefined
          ? inheritedEnd.apply(this, args)
          : hook.end(this, inheritedEnd, args);
      },
    },
    writeHead: {
      configurable: true,
      writable: true,
      value: function writeHead(this: ServerResponse & Hooked, ...args: unknown[]) {
        const hook = hookOf(this.req);
        return hook === undefined
          ? inheritedWriteHead.apply(this, args)
          : hook.writeHead(this, inheritedWriteHead, args);
      },
    },
    [INSTALLED]: { value: true },
  });
}

/**
 * An accessor that defers to the one it replaces for requests it has no hook for: another
 * copy of this module (its CommonJS and ESM builds loaded side by side) keeps reading its
 * own requests' values.
 */
function chain(
  descriptor: PropertyDescriptor,
  base: Record<PropertyKey, unknown>,
  name: string,
): PropertyDescriptor {
  const previous = Object.getOwnPropertyDescriptor(base, name)?.get;
  const get = descriptor.get;
  if (previous === undefined || get === undefined) return descriptor;
  return {
    ...descriptor,
    get(this: object): unknown {
      return hookOf(this) === undefined ? previous.call(this) : get.call(this);
    },
  };
}

/** The prototypes of the last Express app whose requests were found hooked (see installShared). */
let lastApp: { request: object | null; response: object | null } = {
  request: null,
  response: null,
};

/**
 * Installs the shared response hooks on the Express base object `res` inherits from (once),
 * and `accessors` on the base request object. False when `req`/`res` are not Express's:
 * the caller then hooks this one response with {@link hookResponse}.
 * @example if (!installShared(req, res, accessors)) hookResponse(res, hook);
 */
export function installShared(
  req: IncomingMessage,
  res: ServerResponse,
  accessors: PropertyDescriptorMap,
): boolean {
  // The app seen last: its `req`/`res` prototypes (Express makes one pair per app and
  // re-prototypes every request onto them) already lead to the installed base objects. A
  // symbol looked up through each request's own hidden class costs more than this check.
  const responseProto = Object.getPrototypeOf(res);
  if (responseProto === lastApp.response && Object.getPrototypeOf(req) === lastApp.request) {
    return true;
  }
  if ((res as unknown as Record<PropertyKey, unknown>)[INSTALLED] === true) {
    const installed = (req as unknown as Record<PropertyKey, unknown>)[INSTALLED] === true;
    if (installed) lastApp = { request: Object.getPrototypeOf(req), response: responseProto };
    return installed;
  }
  const responseBase = expressBase(res, 'json');
  const requestBase = expressBase(req, 'accepts');
  if (responseBase === null || requestBase === null || (res as Hooked).req !== req) return false;
  if (requestBase[INSTALLED] !== true) {
    const chained: PropertyDescriptorMap = {};
    for (const name of Object.keys(accessors)) {
      chained[name] = chain(accessors[name] as PropertyDescriptor, requestBase, name);
    }
    Object.defineProperties(requestBase, { ...chained, [INSTALLED]: { value: true } });
  }
  installOnResponse(responseBase);
  return true;
}

/**
 * Deletes and re-adds `key`, an ordinary own data property of `target` (same value, same
 * attributes; only its place in the key order changes, to last). Anything else, and any
 * object that could not take the property back, is left alone.
 */
function readd(target: object, key: string): void {
  if (!Object.isExtensible(target)) return;
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (
    descriptor === undefined ||
    !descriptor.writable ||
    !descriptor.enumerable ||
    !descriptor.configurable
  ) {
    return;
  }
  const record = target as Record<string, unknown>;
  delete record[key];
  record[key] = descriptor.value;
}

/**
 * Makes the properties Express and Node add to this `req` and `res` later on cheap.
 *
 * Express gives every request and response a new prototype (`Object.setPrototypeOf`). On
 * Node 20's V8, an object re-prototyped that way gets a new hidden class for every property
 * added afterwards, on every request (none is shared between requests), which costs about
 * 3 µs per added property; and Express, its router and Node's `res` add several per request.
 * Deleting one of the object's own properties (one that is not the last added) turns it into
 * a dictionary-mode object, where an added property costs tens of nanoseconds. `req.res` and
 * `res.req` (the circular references Express and Node set) are deleted and set again with
 * the same value; their place in `Object.keys()` moves to the end. See docs/express.md.
 * @example settleShapes(req, res);
 */
export function settleShapes(req: object, res: object): void {
  readd(req, 'res');
  readd(res, 'req');
}

/**
 * Hooks one response with own `end`/`writeHead` wrappers (a response that is not Express's).
 * @example hookResponse(res, hook);
 */
export function hookResponse(res: ServerResponse, hook: ResponseHook): void {
  const end = res.end as unknown as AnyFunction;
  const writeHead = res.writeHead as unknown as AnyFunction;
  res.writeHead = function hookedWriteHead(this: ServerResponse, ...args: unknown[]) {
    return hook.writeHead(this, writeHead, args);
  } as typeof res.writeHead;
  res.end = function hookedEnd(this: ServerResponse, ...args: unknown[]) {
    return hook.end(this, end, args);
  } as typeof res.end;
}
