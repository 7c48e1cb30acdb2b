/**
 * A request's session bookkeeping over one keep-alive socket (for a while it sat on the
 * socket, where the requests sharing it had to be kept apart). What users rely on:
 * `req.sessionID` still answers for a request whose response is done and whose socket has
 * moved on (loggers read it on 'finish' or later), also after `req.session.destroy()`; and
 * pipelined requests answered concurrently each keep their own session, cookie and save.
 */
import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import express, { type Express } from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, it } from 'vitest';
import { type Loose, makeApp, route, sidOf, useExpress } from './support.js';

const majors: Array<[string, () => Express]> = [
  ['Express 5', express],
  ['Express 4', express4 as unknown as () => Express],
];

interface Reply {
  status: number;
  headers: Record<string, string[]>;
  body: Loose;
}

/** A raw HTTP/1.1 client on one socket: sends request heads as given, parses the replies in order. */
class OneSocket {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiting: Array<(reply: Reply) => void> = [];
  #replies: Reply[] = [];

  constructor(port: number) {
    this.#socket = connect(port, '127.0.0.1');
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
  }

  #parse(): void {
    for (;;) {
      const headEnd = this.#buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const lines = this.#buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers: Record<string, string[]> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()];
      }
      const length = Number(headers['content-length']?.[0] ?? 0);
      if (this.#buffer.length < headEnd + 4 + length) return;
      const body = this.#buffer.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(headEnd + 4 + length);
      const reply = {
        status: Number(lines[0]?.split(' ')[1]),
        headers,
        body: body === '' ? null : JSON.parse(body),
      };
      const waiter = this.#waiting.shift();
      if (waiter) waiter(reply);
      else this.#replies.push(reply);
    }
  }

  send(...paths: Array<[string, string?]>): void {
    const heads = paths.map(
      ([path, cookie]) =>
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`,
    );
    this.#socket.write(heads.join(''));
  }

  next(): Promise<Reply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async get(path: string, cookie?: string): Promise<Reply> {
    this.send([path, cookie]);
    return this.next();
  }

  close(): void {
    this.#socket.destroy();
  }
}

const cookieLine = (reply: Reply): string | undefined =>
  reply.headers['set-cookie']?.find((line) => line.startsWith('connect.sid='));
const pairOf = (reply: Reply): string => (cookieLine(reply) as string).split(';')[0] as string;

let server: Server | null = null;
let client: OneSocket | null = null;
afterEach(async () => {
  client?.close();
  client = null;
  const running = server;
  server = null;
  if (running) await new Promise((resolve) => running.close(resolve));
});

async function listen(app: Express): Promise<OneSocket> {
  const started = app.listen(0, '127.0.0.1');
  server = started;
  await new Promise((resolve) => started.once('listening', resolve));
  client = new OneSocket((started.address() as AddressInfo).port);
  return client;
}

describe.each(majors)('%s, one keep-alive socket', (_name, factory) => {
  useExpress(factory);

  it('keeps req.sessionID of earlier requests (after finish, after later requests, after destroy)', async () => {
    const seen: Array<{ req: Loose; atFinish?: string }> = [];
    const app = makeApp({}, (a) => {
      a.use((req, res, next) => {
        const entry: { req: Loose; atFinish?: string } = { req };
        seen.push(entry);
        res.on('finish', () => {
          entry.atFinish = (req as Loose).sessionID;
        });
        next();
      });
      a.get(
        '/inc',
        route((req, res) => {
          req.session.views = (req.session.views ?? 0) + 1;
          res.json({ views: req.session.views, id: (req as Loose).sessionID });
        }),
      );
      a.get(
        '/logout',
        route((req, res, next) => {
          const id = (req as Loose).sessionID;
          req.session.destroy((error: unknown) => (error ? next(error) : res.json({ id })));
        }),
      );
    });
    const socket = await listen(app);
    const a1 = await socket.get('/inc');
    const b1 = await socket.get('/inc');
    const a2 = await socket.get('/inc', pairOf(a1));
    const out = await socket.get('/logout', pairOf(a1));
    const b2 = await socket.get('/inc', pairOf(b1));
    const afterLogout = await socket.get('/inc', pairOf(a1));

    const idA = sidOf(cookieLine(a1));
    const idB = sidOf(cookieLine(b1));
    expect(idA).not.toBe(idB);
    expect([a1.body, b1.body, a2.body, b2.body]).toEqual([
      { views: 1, id: idA },
      { views: 1, id: idB },
      { views: 2, id: idA },
      { views: 2, id: idB },
    ]);
    expect(out.body).toEqual({ id: idA });
    // The destroyed session is gone: the old cookie starts a new one.
    expect(afterLogout.body.views).toBe(1);
    expect(afterLogout.body.id).not.toBe(idA);

    const expected = [idA, idB, idA, idA, idB, afterLogout.body.id];
    expect(seen.map((entry) => entry.atFinish)).toEqual(expected);
    // Read again now that the socket has served every later request.
    expect(seen.map((entry) => entry.req.sessionID)).toEqual(expected);
    expect(seen.every((entry) => typeof entry.req.sessionStore === 'object')).toBe(true);
  });

  it('answers pipelined requests with their own sessions while an earlier one is still running', async () => {
    let slowDone = false;
    let startedDuringSlow = 0;
    const app = makeApp({}, (a) => {
      a.get(
        '/slow',
        route((req, res) => {
          setTimeout(() => {
            req.session.views = (req.session.views ?? 0) + 1;
            slowDone = true;
            res.json({ views: req.session.views, id: (req as Loose).sessionID });
          }, 50);
        }),
      );
      a.get(
        '/inc',
        route((req, res) => {
          if (!slowDone) startedDuringSlow += 1;
          req.session.views = (req.session.views ?? 0) + 1;
          res.json({ views: req.session.views, id: (req as Loose).sessionID });
        }),
      );
    });
    const socket = await listen(app);
    const a1 = await socket.get('/inc');
    const b1 = await socket.get('/inc');
    const idA = sidOf(cookieLine(a1));
    const idB = sidOf(cookieLine(b1));
    slowDone = false;
    startedDuringSlow = 0;

    socket.send(['/slow', pairOf(a1)], ['/inc', pairOf(b1)], ['/inc']);
    const slow = await socket.next();
    const b2 = await socket.next();
    const fresh = await socket.next();
    // The later requests ran while /slow was still waiting (the case this test is about).
    expect(startedDuringSlow).toBe(2);
    expect(slow.body).toEqual({ views: 2, id: idA });
    expect(b2.body).toEqual({ views: 2, id: idB });
    expect(cookieLine(slow)).toBeUndefined();
    expect(cookieLine(b2)).toBeUndefined();
    const idC = sidOf(cookieLine(fresh));
    expect(fresh.body).toEqual({ views: 1, id: idC });
    expect(new Set([idA, idB, idC]).size).toBe(3);

    // Each save landed on its own session.
    expect((await socket.get('/inc', pairOf(a1))).body).toEqual({ views: 3, id: idA });
    expect((await socket.get('/inc', pairOf(b1))).body).toEqual({ views: 3, id: idB });
    expect((await socket.get('/inc', pairOf(fresh))).body).toEqual({ views: 2, id: idC });
  });
});
