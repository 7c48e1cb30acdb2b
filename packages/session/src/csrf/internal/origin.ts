/**
 * Strict origin parsing for CSRF checks: only http(s) origins, serialised the way browsers
 * send them (`scheme://host[:port]`, no path, no credentials). Never throws.
 */

/** The serialised origin of an http(s) URL, or null when `value` is not one. */
export function originOfUrl(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username !== '' || url.password !== '') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/**
 * The origin in an `Origin` header, or null unless it is exactly a serialised http(s)
 * origin (as browsers send it). Case of the scheme and host is not significant.
 */
export function parseOriginHeader(value: string): string | null {
  const origin = originOfUrl(value);
  return origin !== null && origin === value.toLowerCase() ? origin : null;
}

/** The app's origin from a Host header and the scheme, or null when the Host is malformed. */
export function originFromHost(host: string, isSecure: boolean): string | null {
  if (host === '' || /[/\\?#@\s]/.test(host)) return null;
  return originOfUrl(`${isSecure ? 'https' : 'http'}://${host}`);
}
