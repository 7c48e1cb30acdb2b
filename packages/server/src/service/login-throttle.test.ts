import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from './login-throttle.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let at = 1_000_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

describe('login throttle', () => {
  it('blocks one (user, address) after five failures, with a wait that doubles per failure', () => {
    const time = clock();
    const throttle = createLoginThrottle({ now: time.now });
    for (let i = 0; i < 4; i++) throttle.fail('alice', 'A');
    expect(throttle.check('alice', 'A').retryAfter).toBe(0);
    throttle.fail('alice', 'A');
    expect(throttle.check('alice', 'A').retryAfter).toBe(30);
    time.advance(30_000);
    expect(throttle.check('alice', 'A').retryAfter).toBe(0);
    throttle.fail('alice', 'A');
    expect(throttle.check('alice', 'A').retryAfter).toBe(60);
    time.advance(60_000);
    throttle.fail('alice', 'A');
    expect(throttle.check('alice', 'A').retryAfter).toBe(120);
  });

  it('never refuses the user from an address that has not failed, nor another user from A', () => {
    const throttle = createLoginThrottle({ now: clock().now });
    for (let i = 0; i < 10; i++) throttle.fail('alice', 'A');
    expect(throttle.check('alice', 'A').retryAfter).toBeGreaterThan(0);
    expect(throttle.check('alice', 'B')).toEqual({ retryAfter: 0, delayMs: 0 });
    expect(throttle.check('bob', 'A').retryAfter).toBe(0);
  });

  it('blocks an address that fails for many users', () => {
    const throttle = createLoginThrottle({ now: clock().now });
    for (let i = 0; i < 20; i++) throttle.fail(`user-${i}`, 'A');
    expect(throttle.check('someone-else', 'A').retryAfter).toBe(30);
    expect(throttle.check('someone-else', 'B').retryAfter).toBe(0);
  });

  it('slows, never blocks, a distributed guess past the per-user ceiling', () => {
    const time = clock();
    const throttle = createLoginThrottle({ now: time.now });
    for (let i = 0; i < 20; i++) throttle.fail('alice', `10.0.0.${i}`);
    const first = throttle.check('alice', 'fresh-1');
    const second = throttle.check('alice', 'fresh-2');
    const third = throttle.check('alice', 'fresh-3');
    expect([first.retryAfter, second.retryAfter, third.retryAfter]).toEqual([0, 0, 0]);
    expect([first.delayMs, second.delayMs, third.delayMs]).toEqual([0, 1000, 2000]);
    for (let i = 0; i < 20; i++) throttle.check('alice', `more-${i}`);
    expect(throttle.check('alice', 'late').delayMs).toBe(10_000);
    expect(throttle.check('bob', 'fresh-1').delayMs).toBe(0);
  });

  it('forgets failures after the window and after a success from the same address', () => {
    const time = clock();
    const throttle = createLoginThrottle({ now: time.now });
    for (let i = 0; i < 4; i++) throttle.fail('alice', 'A');
    throttle.succeed('alice', 'A');
    throttle.fail('alice', 'A');
    expect(throttle.check('alice', 'A').retryAfter).toBe(0);
    for (let i = 0; i < 4; i++) throttle.fail('bob', 'C');
    time.advance(901_000);
    throttle.fail('bob', 'C');
    expect(throttle.check('bob', 'C').retryAfter).toBe(0);
  });
});
