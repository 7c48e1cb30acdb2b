import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../shared/errors.js';
import { type CsrfRequest, createCsrfGuard } from './guard.js';

const APP = 'https://app.example.com';

function request(
  method: string,
  headers: Record<string, string>,
  extra: Partial<CsrfRequest> = {},
): CsrfRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method,
    headers: (name) => lower[name.toLowerCase()],
    isSecure: true,
    ...extra,
  };
}

const host = { host: 'app.example.com' };
const guard = createCsrfGuard({ allowedOrigins: ['https://admin.example.com'] });

function verdict(req: CsrfRequest, g = guard): string {
  const result = g.check(req);
  return result.ok ? 'ok' : result.reason;
}

describe('safe methods', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'get'])('%s passes even cross-site', (method) => {
    expect(
      verdict(
        request(method, { ...host, 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' }),
      ),
    ).toBe('ok');
  });
});

describe('Fetch Metadata', () => {
  it('same-origin passes', () => {
    expect(verdict(request('POST', { ...host, 'sec-fetch-site': 'same-origin' }))).toBe('ok');
  });

  it('cross-site is refused, whatever the Origin says', () => {
    expect(
      verdict(request('POST', { ...host, 'sec-fetch-site': 'cross-site', origin: APP })),
    ).toMatch(/cross-site/);
    expect(verdict(request('DELETE', { ...host, 'Sec-Fetch-Site': 'Cross-Site' }))).toMatch(
      /cross-site/,
    );
  });

  it('same-site passes only from an allowed origin', () => {
    expect(
      verdict(
        request('POST', {
          ...host,
          'sec-fetch-site': 'same-site',
          origin: 'https://admin.example.com',
        }),
      ),
    ).toBe('ok');
    expect(
      verdict(
        request('POST', {
          ...host,
          'sec-fetch-site': 'same-site',
          origin: 'https://blog.example.com',
        }),
      ),
    ).toMatch(/same-site/);
    expect(verdict(request('POST', { ...host, 'sec-fetch-site': 'same-site' }))).toMatch(
      /same-site/,
    );
  });

  it('none (user-initiated) passes unless an Origin or Referer shows a foreign origin', () => {
    expect(verdict(request('POST', { ...host, 'sec-fetch-site': 'none' }))).toBe('ok');
    expect(verdict(request('POST', { ...host, 'sec-fetch-site': 'none', origin: APP }))).toBe('ok');
    expect(
      verdict(request('POST', { ...host, 'sec-fetch-site': 'none', origin: 'https://evil.test' })),
    ).toMatch(/Origin not allowed/);
    expect(verdict(request('POST', { ...host, 'sec-fetch-site': 'none', origin: 'null' }))).toMatch(
      /null/,
    );
  });

  it('an unknown value is refused', () => {
    expect(
      verdict(request('POST', { ...host, 'sec-fetch-site': 'same-planet', origin: APP })),
    ).toMatch(/unrecognised/);
  });

  it('is ignored with trustFetchMetadata: false (Origin decides)', () => {
    const strict = createCsrfGuard({ trustFetchMetadata: false });
    expect(verdict(request('POST', { ...host, 'sec-fetch-site': 'same-origin' }), strict)).toMatch(
      /missing Origin/,
    );
    expect(
      verdict(request('POST', { ...host, 'sec-fetch-site': 'cross-site', origin: APP }), strict),
    ).toBe('ok');
  });
});

describe('Origin and Referer (no Fetch Metadata)', () => {
  it('the app origin from Host and scheme passes; other origins are refused', () => {
    expect(verdict(request('POST', { ...host, origin: APP }))).toBe('ok');
    expect(verdict(request('POST', { ...host, origin: 'https://APP.example.com' }))).toBe('ok');
    expect(verdict(request('POST', { ...host, origin: 'http://app.example.com' }))).toMatch(
      /not allowed/,
    );
    expect(verdict(request('POST', { ...host, origin: 'https://evil.test' }))).toMatch(
      /not allowed/,
    );
    expect(verdict(request('POST', { ...host, origin: 'https://admin.example.com' }))).toBe('ok');
  });

  it('compares ports, including default ones', () => {
    const withPort = { host: 'app.example.com:8443' };
    expect(verdict(request('POST', { ...withPort, origin: 'https://app.example.com:8443' }))).toBe(
      'ok',
    );
    expect(verdict(request('POST', { ...withPort, origin: APP }))).toMatch(/not allowed/);
    expect(verdict(request('POST', { host: 'app.example.com:443', origin: APP }))).toBe('ok');
    expect(
      verdict(
        request(
          'PUT',
          { host: 'localhost:3000', origin: 'http://localhost:3000' },
          { isSecure: false },
        ),
      ),
    ).toBe('ok');
  });

  it('handles IPv6 hosts', () => {
    const v6 = { host: '[::1]:3000' };
    expect(
      verdict(request('POST', { ...v6, origin: 'http://[::1]:3000' }, { isSecure: false })),
    ).toBe('ok');
    expect(
      verdict(request('POST', { ...v6, origin: 'http://[::2]:3000' }, { isSecure: false })),
    ).toMatch(/not allowed/);
  });

  it('uses appOrigin or url when the adapter gives them', () => {
    expect(
      verdict(request('POST', { host: 'internal:8080', origin: APP }, { appOrigin: APP })),
    ).toBe('ok');
    expect(verdict(request('POST', { origin: APP }, { url: `${APP}/login?x=1` }))).toBe('ok');
    expect(verdict(request('POST', { origin: APP }))).toMatch(/not allowed/);
  });

  it('refuses Origin: null and malformed Origin values', () => {
    expect(verdict(request('POST', { ...host, origin: 'null' }))).toMatch(/null/);
    for (const bad of [
      'garbage',
      'https://',
      `${APP}/path`,
      'ftp://app.example.com',
      'https://u:p@app.example.com',
      '\u0000',
    ]) {
      expect(verdict(request('POST', { ...host, origin: bad }))).toMatch(/malformed Origin/);
    }
  });

  it('falls back to Referer when Origin is absent', () => {
    expect(verdict(request('POST', { ...host, referer: `${APP}/form?a=1` }))).toBe('ok');
    expect(verdict(request('POST', { ...host, referer: 'https://evil.test/x' }))).toMatch(
      /Referer not allowed/,
    );
    expect(verdict(request('POST', { ...host, referer: 'app.example.com/form' }))).toMatch(
      /malformed Referer/,
    );
    expect(verdict(request('POST', { ...host, referer: '/form' }))).toMatch(/malformed Referer/);
  });

  it('refuses a request with neither Origin nor Referer', () => {
    expect(verdict(request('POST', host))).toMatch(/missing Origin and Referer/);
  });

  it('survives garbage Host headers and a throwing header lookup', () => {
    for (const bad of ['', 'evil.test/@app.example.com', 'a b', '[::1', 'app.example.com:99999']) {
      expect(verdict(request('POST', { host: bad, origin: APP }))).toMatch(/not allowed/);
    }
    const throwing: CsrfRequest = {
      method: 'POST',
      headers: () => {
        throw new Error('boom');
      },
    };
    expect(verdict(throwing)).toMatch(/missing Origin/);
  });
});

describe('configuration', () => {
  it('accepts origins with a trailing slash and refuses non-origins', () => {
    expect(
      verdict(
        request('POST', { ...host, origin: 'https://x.test' }),
        createCsrfGuard({ allowedOrigins: ['https://x.test/'] }),
      ),
    ).toBe('ok');
    for (const bad of ['x.test', 'https://x.test/path', '*', 'null']) {
      try {
        createCsrfGuard({ allowedOrigins: [bad] });
        throw new Error('expected ERR_CONFIG');
      } catch (error) {
        expect(isTesseraError(error, 'ERR_CONFIG')).toBe(true);
        expect((error as Error).message).toContain('allowedOrigins');
      }
    }
  });
});
