/**
 * The `tessera` CLI, run as a process from source against a SQLite file that a running
 * service shares: users, sessions (revocation takes effect on the service at once), keys
 * (a rotation reaches the service within 5 s), gc, help and one-line errors.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../packages/server/src/cli/main.js';
import {
  call,
  postJson,
  runCli,
  type StartedService,
  startServiceProcess,
  tempDir,
} from './support/service.js';

let service: StartedService;
let store: string;

beforeAll(async () => {
  store = `sqlite:${join(tempDir(), 'tessera.db')}`;
  service = await startServiceProcess(['--store', store]);
});

afterAll(async () => {
  await service.stop();
});

function cli(...args: string[]) {
  return runCli([...args, '--store', store]);
}

async function token(
  username: string,
  password: string,
): Promise<{ access_token: string; session_id: string }> {
  const res = await postJson(`${service.url}/api/token`, { username, password });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; session_id: string };
}

describe('tessera CLI beside a running service', () => {
  it('adds users (with a given or a generated password) and lists them', async () => {
    const given = await cli('users', 'add', 'Carol', '--password', 'carol-password');
    expect(given.code).toBe(0);
    expect(given.stdout).toContain('added user carol');
    const generated = await cli('users', 'add', 'dave');
    expect(generated.code).toBe(0);
    const password = /password: (\S+)/.exec(generated.stdout)?.[1] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(20);
    // The service signs the new users in straight away (same store).
    await token('dave', password);
    await token('carol', 'carol-password');

    const list = await cli('users', 'list', '--json');
    expect(list.code).toBe(0);
    const users = JSON.parse(list.stdout) as Array<{ name: string; created_at: string }>;
    expect(users.map((u) => u.name)).toEqual(['carol', 'dave']);
    expect(list.stdout).not.toContain('scrypt');

    const again = await cli('users', 'add', 'carol', '--password', 'another-password');
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('tessera: user "carol" already exists');
  });

  it('lists sessions as the API does and revokes one: the service refuses its token at once', async () => {
    const first = await token('carol', 'carol-password');
    const second = await token('carol', 'carol-password');
    const listed = await cli('sessions', 'list', '--user', 'carol', '--json');
    expect(listed.code).toBe(0);
    const sessions = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    const ids = sessions.map((s) => s.session_id);
    expect(ids).toEqual(expect.arrayContaining([first.session_id, second.session_id]));
    const api = (await (
      await call(`${service.url}/api/sessions`, {
        headers: { authorization: `Bearer ${first.access_token}` },
      })
    ).json()) as { sessions: Array<Record<string, unknown>> };
    const fromApi = api.sessions.find((s) => s.session_id === second.session_id);
    const fromCli = sessions.find((s) => s.session_id === second.session_id);
    expect({ ...fromCli, user: undefined, current: undefined }).toEqual({
      ...fromApi,
      current: undefined,
    });

    const text = await cli('sessions', 'list');
    expect(text.stdout).toContain(first.session_id);

    const revoke = await cli('sessions', 'revoke', first.session_id);
    expect(revoke.code).toBe(0);
    const me = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${first.access_token}` },
    });
    expect(me.status).toBe(401);
    const other = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    expect(other.status).toBe(200);

    const all = await cli('sessions', 'revoke', '--user', 'carol');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/revoked \d+ sessions? of carol/);
    const after = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    expect(after.status).toBe(401);
  });

  it('disables, enables and deletes a user: every session and token ends at once', async () => {
    expect((await cli('users', 'add', 'erin', '--password', 'erin-password')).code).toBe(0);
    const pair = await token('erin', 'erin-password');
    const disabled = await cli('users', 'disable', 'erin');
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toContain('disabled user erin (1 session ended)');
    const me = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${pair.access_token}` },
    });
    expect(me.status).toBe(401);
    const refused = await postJson(`${service.url}/api/token`, {
      username: 'erin',
      password: 'erin-password',
    });
    expect(refused.status).toBe(401);
    const listed = JSON.parse((await cli('users', 'list', '--json')).stdout) as Array<{
      name: string;
      disabled: boolean;
    }>;
    expect(listed.find((u) => u.name === 'erin')?.disabled).toBe(true);
    expect((await cli('users', 'enable', 'erin')).code).toBe(0);
    const again = await token('erin', 'erin-password');
    const deleted = await cli('users', 'delete', 'erin');
    expect(deleted.stdout).toContain('deleted user erin (1 session ended)');
    const gone = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${again.access_token}` },
    });
    expect(gone.status).toBe(401);
    expect((await cli('users', 'delete', 'erin')).stderr.trim()).toBe(
      'tessera: unknown user "erin"',
    );
    // Seven CLI processes: allow for a busy machine.
  }, 120_000);

  it('rotates the signing key; the running service signs with it within 5 s and old tokens still verify', async () => {
    const before = await token('erin', (await newUser('erin')).password);
    const keys = JSON.parse((await cli('keys', 'list', '--json')).stdout) as Array<{
      kid: string;
      active: boolean;
    }>;
    expect(keys.filter((k) => k.active)).toHaveLength(1);
    const rotated = await cli('keys', 'rotate');
    expect(rotated.code).toBe(0);
    const kid = /new active key (\S+)/.exec(rotated.stdout)?.[1];
    expect(kid).toBeTruthy();
    const after = JSON.parse((await cli('keys', 'list', '--json')).stdout) as Array<{
      kid: string;
      active: boolean;
    }>;
    expect(after.find((k) => k.active)?.kid).toBe(kid);
    expect(after).toHaveLength(keys.length + 1);

    let jwksKids: string[] = [];
    for (let i = 0; i < 60 && !jwksKids.includes(String(kid)); i++) {
      const jwks = (await (await call(`${service.url}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      jwksKids = jwks.keys.map((k) => k.kid);
      if (!jwksKids.includes(String(kid))) await new Promise((r) => setTimeout(r, 100));
    }
    expect(jwksKids).toContain(kid);
    const fresh = await token('erin', (await newUser('erin', false)).password);
    const header = JSON.parse(
      Buffer.from(fresh.access_token.split('.')[0] ?? '', 'base64url').toString(),
    ) as { kid: string };
    expect(header.kid).toBe(kid);
    const old = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${before.access_token}` },
    });
    expect(old.status).toBe(200);

    // Retiring the active key is refused; retiring the old one ends its tokens.
    const refused = await cli('keys', 'retire', String(kid));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/active/);
    const oldKid = keys.find((k) => k.active)!.kid;
    const retired = await cli('keys', 'retire', oldKid);
    // Seen once in CI: exit 2 here; the message says why if it happens again.
    expect(retired.code, retired.stderr).toBe(0);
    let status = 200;
    for (let i = 0; i < 60 && status === 200; i++) {
      status = (
        await call(`${service.url}/api/me`, {
          headers: { authorization: `Bearer ${before.access_token}` },
        })
      ).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    const jwks = (await (await call(`${service.url}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(oldKid);
    expect((await cli('keys', 'retire', 'no-such-key')).code).not.toBe(0);
  });

  it('purges expired records with gc', async () => {
    const gc = await cli('gc');
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/^purged \d+ expired records?$/m);
  });

  it('prints help for every command', async () => {
    const commands = [
      ['--help'],
      ['serve', '--help'],
      ['users', 'add', '--help'],
      ['users', 'list', '--help'],
      ['users', 'disable', '--help'],
      ['users', 'delete', '--help'],
      ['sessions', 'list', '--help'],
      ['sessions', 'revoke', '--help'],
      ['keys', 'list', '--help'],
      ['keys', 'rotate', '--help'],
      ['gc', '--help'],
    ];
    for (const args of commands) {
      const result = await inProcess(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: tessera/);
    }
  });

  it('fails with one line and a non-zero exit, never a stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['sessions', 'list', '--store', 'nosuch://x'], 2, /unsupported store URL/],
      [['sessions', 'list', '--user', 'zed', '--store', store], 1, /unknown user "zed"/],
      [['sessions', 'revoke', '--user', 'zed', '--store', store], 1, /unknown user "zed"/],
      [['sessions', 'revoke', 'AAAAAAAAAAAAAAAAAAAAAA', '--store', store], 1, /no live session/],
      [['sessions', 'revoke', '--store', store], 2, /either one session ID or --user/],
      [
        ['users', 'add', 'bad name!', '--password', 'long-enough', '--store', store],
        1,
        /user name must be/,
      ],
      [['users', 'add', 'frank', '--password', 'short', '--store', store], 1, /password must be/],
      [['keys', 'list', '--bogus'], 2, /Unknown option/],
      [['frobnicate'], 2, /unknown command/],
    ];
    // One of them as a real process (exit code, stderr), the rest through main() itself.
    const spawned = await runCli(cases[1]?.[0] ?? []);
    expect(spawned.code).toBe(1);
    expect(spawned.stderr).toBe('tessera: unknown user "zed"\n');
    for (const [args, code, message] of cases) {
      const result = await inProcess(args);
      expect(result.code, args.join(' ')).toBe(code);
      const lines = result.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^tessera: /);
      expect(lines[0]).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

async function inProcess(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    args,
    {},
    {
      out: (line) => {
        stdout += `${line}\n`;
      },
      err: (line) => {
        stderr += `${line}\n`;
      },
    },
  );
  return { code, stdout, stderr };
}

async function newUser(name: string, create = true): Promise<{ password: string }> {
  const password = `${name}-password`;
  if (create) expect((await cli('users', 'add', name, '--password', password)).code).toBe(0);
  return { password };
}
