import { describe, expect, it } from 'vitest';
import { FastifyExchange } from './exchange.js';

describe('FastifyExchange.sessionCookieValue', () => {
  it('answers each name and prefix from the Cookie header, also when asked again', () => {
    const exchange = new FastifyExchange(
      { url: '/', method: 'GET', headers: { cookie: 'a=s%3Aone; b=two' } } as never,
      undefined,
    );
    expect(exchange.sessionCookieValue('a', '')).toBe('s:one');
    expect(exchange.sessionCookieValue('a', '')).toBe('s:one');
    expect(exchange.sessionCookieValue('a', 's:')).toBe('one');
    expect(exchange.sessionCookieValue('b', 's:')).toBeNull();
    expect(exchange.sessionCookieValue('b', '')).toBe('two');
    expect(exchange.sessionCookieValue('c', '')).toBeNull();
    expect(exchange.sessionCookieValue('a', '')).toBe('s:one');
  });
});
