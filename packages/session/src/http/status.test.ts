import { describe, expect, it } from 'vitest';
import { ERROR_CODES, TesseraError } from '../shared/errors.js';
import { createAccessTokens, generateKey } from '../tokens/index.js';
import { HTTP_STATUS_BY_CODE, httpStatusOf, withHttpStatus } from './status.js';
import { createTokenGuard } from './token-guard.js';

describe('the one error → HTTP status table', () => {
  it('has a status for every error code', () => {
    for (const code of ERROR_CODES) {
      expect(HTTP_STATUS_BY_CODE[code], code).toBeGreaterThanOrEqual(400);
    }
  });

  it('answers 401 for a missing or expired session, never 409', () => {
    expect(httpStatusOf(new TesseraError('ERR_SESSION_NOT_FOUND', 'gone'))).toBe(401);
    expect(withHttpStatus(new TesseraError('ERR_SESSION_NOT_FOUND', 'gone'))).toMatchObject({
      status: 401,
      statusCode: 401,
      expose: true,
    });
  });

  it('maps CSRF to 403, outages to 503, foreign errors to 500 (503 through withHttpStatus)', () => {
    expect(httpStatusOf(new TesseraError('ERR_CSRF', 'x'))).toBe(403);
    expect(httpStatusOf(new TesseraError('ERR_STORE_CLOSED', 'x'))).toBe(503);
    expect(httpStatusOf(new Error('boom'))).toBe(500);
    expect(withHttpStatus(new Error('boom'))).toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      status: 503,
    });
  });

  it('the token guard answers with the table’s status', async () => {
    const tokens = createAccessTokens({
      keys: [await generateKey('EdDSA')],
      issuer: 'i',
      audience: 'a',
    });
    const guard = createTokenGuard({
      tokens,
      isSessionActive: () => {
        throw new TesseraError('ERR_STORE_UNAVAILABLE', 'down');
      },
    });
    const token = await tokens.sign({ sub: 'u', sid: 's' });
    const down = await guard.authenticate({
      header: (name) => (name === 'authorization' ? `Bearer ${token}` : undefined),
    });
    expect(down).toMatchObject({
      ok: false,
      status: httpStatusOf(new TesseraError('ERR_STORE_UNAVAILABLE', 'x')),
    });
    const bad = await guard.authenticate({
      header: (name) => (name === 'authorization' ? 'Bearer abc.def.ghi' : undefined),
    });
    expect(bad).toMatchObject({ ok: false, status: HTTP_STATUS_BY_CODE.ERR_TOKEN_MALFORMED });
  });
});
