/**
 * Adds a Set-Cookie header to a Node-style response without dropping the ones already
 * there (set by the app, by another middleware, or passed to `writeHead`).
 */

/** The part of a Node `ServerResponse` this needs. */
export interface HeaderTarget {
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: string | string[]): unknown;
}

/**
 * Appends one Set-Cookie value.
 * @example appendSetCookie(res, 'connect.sid=s%3A…; Path=/; HttpOnly');
 */
export function appendSetCookie(target: HeaderTarget, value: string): void {
  const previous = target.getHeader('Set-Cookie');
  const list =
    previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  target.setHeader('Set-Cookie', [...list, value]);
}
