/**
 * Access-token sign and verify throughput: Tessera against jose, jsonwebtoken, fast-jwt
 * (verifier cache disabled) and the raw node:crypto floor (the signature operation alone on
 * the same signing input), for HS256, ES256, EdDSA and RS256. Every contestant handles the
 * same token and checks the same claims where it can; each is measured for a fixed slice
 * of time per round, rounds interleave the contestants, and the median of the rounds is
 * reported. Writes bench/results/tokens.json.
 *
 * Also the cost of DPoP (RFC 9449) per request: the token guard authenticating a Bearer
 * token beside the same guard authenticating a DPoP-bound token with its proof (ES256 proof
 * signature, htm/htu/iat/ath checks, the jti replay cache in a memory store, the key
 * binding), measured in the same rounds; the ratio and µs per request are printed.
 *
 * Run: node --import tsx bench/tokens.ts   (about 80 s on 2 cores)
 *      BENCH_ONLY=dpop node --import tsx bench/tokens.ts   (the DPoP rows alone, about 5 s)
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createSigner, createVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import type { TokenRequest } from '../packages/session/src/http/token-guard.js';

import type { TokenAlg } from '../packages/session/src/tokens/keyring.js';
import { makeProof, newProofKey } from '../test/support/dpop.js';
import { median } from './stats.js';
import { lib } from './tessera.js';

const { createTokenGuard } = await lib.tokenGuard();
const { createMemoryStore } = await lib.memoryStore();
const { createAccessTokens } = await lib.accessTokens();
const { createDpopVerifier } = await lib.dpop();
const { jwkThumbprint } = await lib.dpopProof();

const { generateKey } = await lib.keyring();

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 160);
const ALGS: TokenAlg[] = ['HS256', 'ES256', 'EdDSA', 'RS256'];
const ISSUER = 'https://auth.bench';
const AUDIENCE = 'api';

type Op = () => unknown;
type AsyncOp = () => Promise<unknown>;
interface Contestant {
  name: string;
  op: Op | AsyncOp | null;
  async: boolean;
}

/**
 * Ops per second of CPU time (user + system, all threads of this process), and of wall
 * time. CPU time is the headline: on a shared machine other processes steal wall time from
 * whichever contestant happens to run, but not CPU time.
 */
async function measure(c: Contestant): Promise<{ cpu: number; wall: number }> {
  const op = c.op!;
  for (let i = 0; i < 50; i++) c.async ? await op() : op();
  let ops = 0;
  let batch = 16;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(SLICE_MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    if (c.async) for (let i = 0; i < batch; i++) await op();
    else for (let i = 0; i < batch; i++) op();
    ops += batch;
    if (batch < 4096) batch *= 2;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    cpu: ops / ((cpu.user + cpu.system) / 1e6),
    wall: ops / (Number(now - start) / 1e9),
  };
}

interface Setup {
  verify: Contestant[];
  sign: Contestant[];
}

async function setup(alg: TokenAlg): Promise<Setup> {
  const jwk = await generateKey(alg, { kid: `bench-${alg}` });
  const tokens = createAccessTokens({ keys: [jwk], issuer: ISSUER, audience: AUDIENCE });
  const claims = { sub: 'user-123', sid: 'AbCdEfGhIjKlMnOpQrStUv' };
  const token = await tokens.sign(claims);
  const dot = token.lastIndexOf('.');
  const signingInput = token.slice(0, dot);
  const inputBytes = Buffer.from(signingInput);
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');

  let privateKey: KeyObject;
  let publicKey: KeyObject;
  if (alg === 'HS256') {
    privateKey = publicKey = createSecretKey(Buffer.from(jwk.k!, 'base64url'));
  } else {
    privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
    publicKey = createPublicKey(privateKey);
  }
  const secretOrPem = (key: KeyObject, kind: 'pkcs8' | 'spki'): string | Buffer =>
    alg === 'HS256' ? key.export() : (key.export({ type: kind, format: 'pem' }) as string);

  // Floor: the signature operation alone.
  const ecdsa = { key: publicKey, dsaEncoding: 'ieee-p1363' as const };
  const ecdsaSign = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  const digest = alg === 'EdDSA' ? null : 'sha256';
  const floorVerify: Op =
    alg === 'HS256'
      ? () =>
          timingSafeEqual(createHmac('sha256', publicKey).update(signingInput).digest(), signature)
      : alg === 'ES256'
        ? () => cryptoVerify(digest, inputBytes, ecdsa, signature)
        : () => cryptoVerify(digest, inputBytes, publicKey, signature);
  const floorSign: Op =
    alg === 'HS256'
      ? () => createHmac('sha256', privateKey).update(signingInput).digest()
      : alg === 'ES256'
        ? () => cryptoSign(digest, inputBytes, ecdsaSign)
        : () => cryptoSign(digest, inputBytes, privateKey);

  // jose
  const joseVerify: AsyncOp = () =>
    jwtVerify(token, publicKey, {
      algorithms: [alg],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
    });
  const joseSign: AsyncOp = () =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid: jwk.kid!, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('AbCdEfGhIjKlMnOpQrStUv')
      .sign(privateKey);

  // jsonwebtoken (no EdDSA support)
  let jwtVerifyOp: Op | null = null;
  let jwtSignOp: Op | null = null;
  if (alg !== 'EdDSA') {
    const vKey = secretOrPem(publicKey, 'spki');
    const sKey = secretOrPem(privateKey, 'pkcs8');
    jwtVerifyOp = () =>
      jsonwebtoken.verify(token, vKey, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE });
    jwtSignOp = () =>
      jsonwebtoken.sign(claims, sKey, {
        algorithm: alg,
        keyid: jwk.kid!,
        header: { alg, typ: 'at+jwt' },
        issuer: ISSUER,
        audience: AUDIENCE,
        expiresIn: 300,
        jwtid: 'AbCdEfGhIjKlMnOpQrStUv',
      });
  }

  // fast-jwt, cache disabled
  let fastVerifyOp: Op | null = null;
  let fastSignOp: Op | null = null;
  try {
    const verifier = createVerifier({
      key: secretOrPem(publicKey, 'spki'),
      algorithms: [alg],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      cache: false,
    });
    const signer = createSigner({
      key: secretOrPem(privateKey, 'pkcs8'),
      algorithm: alg,
      kid: jwk.kid!,
      header: { alg, typ: 'at+jwt' },
      iss: ISSUER,
      aud: AUDIENCE,
      expiresIn: 300_000,
      jti: 'AbCdEfGhIjKlMnOpQrStUv',
    });
    verifier(token);
    signer(claims);
    fastVerifyOp = () => verifier(token);
    fastSignOp = () => signer(claims);
  } catch (error) {
    console.error(`fast-jwt ${alg}: n/a (${(error as Error).message})`);
  }

  const verify: Contestant[] = [
    { name: 'floor', op: floorVerify, async: false },
    { name: 'tessera', op: () => tokens.verify(token), async: true },
    { name: 'tesseraSync', op: () => tokens.verifySync(token), async: false },
    { name: 'jose', op: joseVerify, async: true },
    { name: 'jsonwebtoken', op: jwtVerifyOp, async: false },
    { name: 'fast-jwt', op: fastVerifyOp, async: false },
  ];
  const sign: Contestant[] = [
    { name: 'floor', op: floorSign, async: false },
    { name: 'tessera', op: () => tokens.sign(claims), async: true },
    { name: 'jose', op: joseSign, async: true },
    { name: 'jsonwebtoken', op: jwtSignOp, async: false },
    { name: 'fast-jwt', op: fastSignOp, async: false },
  ];
  // Each contestant must accept the token before it is timed.
  if (floorVerify() !== true) throw new Error(`${alg}: floor does not verify`);
  for (const c of verify) if (c.op) await c.op();
  return { verify, sign };
}

type Table = Record<string, Record<string, number | null>>;

const DPOP_URL = 'https://api.bench/api/me';

/**
 * The two guard rows: `bearer` (a plain EdDSA access token) and `dpop` (an EdDSA access
 * token bound to an ES256 client key, with a fresh proof per request: proofs are made
 * beforehand, since making one is the client's cost, and each is used once because the
 * replay cache would refuse it a second time).
 */
async function dpopSetup(): Promise<Contestant[]> {
  const tokens = createAccessTokens({
    keys: [await generateKey('EdDSA', { kid: 'bench-dpop' })],
    issuer: ISSUER,
    audience: AUDIENCE,
  });
  const store = createMemoryStore({ purgeIntervalMs: 0 });
  const bearerGuard = createTokenGuard({ tokens });
  const dpopGuard = createTokenGuard({ tokens, dpop: createDpopVerifier({ store }) });
  const client = newProofKey('ES256');
  const plain = await tokens.sign({ sub: 'user-123', sid: 'AbCdEfGhIjKlMnOpQrStUv' });
  const bound = await tokens.sign({
    sub: 'user-123',
    sid: 'AbCdEfGhIjKlMnOpQrStUv',
    cnf: { jkt: jwkThumbprint(client.jwk) },
  });
  const poolSize = Number(process.env.BENCH_DPOP_POOL ?? 60_000);
  const proofs = Array.from({ length: poolSize }, () =>
    makeProof(client, { method: 'GET', url: DPOP_URL, accessToken: bound }),
  );
  let next = 0;
  const bearerHeaders: Record<string, string> = { authorization: `Bearer ${plain}` };
  const bearerRequest: TokenRequest = {
    header: (n) => bearerHeaders[n],
    method: 'GET',
    url: DPOP_URL,
  };
  const dpopAuthorization = `DPoP ${bound}`;
  const dpopRequest: TokenRequest = {
    header: (n) =>
      n === 'authorization' ? dpopAuthorization : n === 'dpop' ? proofs[next++] : undefined,
    method: 'GET',
    url: DPOP_URL,
  };
  const check = (result: { ok: boolean }) => {
    if (!result.ok) throw new Error('the guard refused a valid request (proof pool exhausted?)');
  };
  check(await bearerGuard.authenticate(bearerRequest));
  check(await dpopGuard.authenticate(dpopRequest));
  return [
    { name: 'bearer', op: () => bearerGuard.authenticate(bearerRequest).then(check), async: true },
    { name: 'dpop', op: () => dpopGuard.authenticate(dpopRequest).then(check), async: true },
  ];
}

/** Runs the DPoP rows for `rounds` and prints them; answers ops per CPU-second and µs. */
async function runDpopRows(
  rows: Contestant[],
  samples: Map<string, number[]>,
): Promise<Record<string, number>> {
  for (const c of rows) {
    const value = await measure(c);
    samples.set(`dpop/${c.name}`, [...(samples.get(`dpop/${c.name}`) ?? []), value.cpu]);
  }
  const bearer = median(samples.get('dpop/bearer') ?? [0]);
  const dpop = median(samples.get('dpop/dpop') ?? [0]);
  return {
    bearerOpsPerCpuSecond: Math.round(bearer),
    dpopOpsPerCpuSecond: Math.round(dpop),
    bearerMicroseconds: Number((1e6 / bearer).toFixed(1)),
    dpopMicroseconds: Number((1e6 / dpop).toFixed(1)),
    dpopCostRatio: Number((bearer / dpop).toFixed(2)),
  };
}

function printDpop(row: Record<string, number>): void {
  console.log('\nDPoP per request: token guard, EdDSA access token (median, CPU time)');
  console.log(
    `bearer ${row.bearerMicroseconds} µs (${row.bearerOpsPerCpuSecond}/s)   ` +
      `dpop (token + ES256 proof + replay cache) ${row.dpopMicroseconds} µs (${row.dpopOpsPerCpuSecond}/s)   ` +
      `dpop costs ${row.dpopCostRatio}× a bearer verify`,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const dpopRows = await dpopSetup();
  const dpopSamples = new Map<string, number[]>();
  if (process.env.BENCH_ONLY === 'dpop') {
    let row: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) row = await runDpopRows(dpopRows, dpopSamples);
    printDpop(row);
    return;
  }
  const setups = new Map<TokenAlg, Setup>();
  for (const alg of ALGS) setups.set(alg, await setup(alg));
  const samples = new Map<string, number[]>();
  const wallSamples = new Map<string, number[]>();
  let dpop: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    dpop = await runDpopRows(dpopRows, dpopSamples);
    for (const alg of ALGS) {
      const { verify, sign } = setups.get(alg)!;
      for (const [kind, list] of [
        ['verify', verify],
        ['sign', sign],
      ] as const) {
        for (const c of list) {
          if (c.op === null) continue;
          const key = `${kind}/${alg}/${c.name}`;
          const value = await measure(c);
          samples.set(key, [...(samples.get(key) ?? []), value.cpu]);
          wallSamples.set(key, [...(wallSamples.get(key) ?? []), value.wall]);
        }
      }
    }
    process.stderr.write(
      `round ${round + 1}/${ROUNDS} done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
    );
  }

  const result: { verify: Table; sign: Table } = { verify: {}, sign: {} };
  const wall: { verify: Table; sign: Table } = { verify: {}, sign: {} };
  for (const kind of ['verify', 'sign'] as const) {
    for (const alg of ALGS) {
      const row: Record<string, number | null> = {};
      const wallRow: Record<string, number | null> = {};
      for (const c of setups.get(alg)![kind]) {
        const values = samples.get(`${kind}/${alg}/${c.name}`);
        row[c.name] = values ? Math.round(median(values)) : null;
        const wallValues = wallSamples.get(`${kind}/${alg}/${c.name}`);
        wallRow[c.name] = wallValues ? Math.round(median(wallValues)) : null;
      }
      result[kind][alg] = row;
      wall[kind][alg] = wallRow;
    }
  }

  const fmt = (n: number | null | undefined): string =>
    n == null ? 'n/a' : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
  const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
    a == null || b == null ? 'n/a' : `${(a / b).toFixed(2)}×`;
  const ratios: Record<string, Record<string, number | null>> = {};
  for (const kind of ['verify', 'sign'] as const) {
    const names = setups.get('HS256')![kind].map((c) => c.name);
    console.log(`\n${kind} ops per CPU-second (median of ${ROUNDS} rounds × ${SLICE_MS} ms)`);
    console.log(['alg', ...names].map((s) => s.padEnd(13)).join(''));
    for (const alg of ALGS) {
      const row = result[kind][alg]!;
      console.log([alg, ...names.map((n) => fmt(row[n]))].map((s) => s.padEnd(13)).join(''));
    }
    console.log(`\n${kind}: Tessera (async API) relative to each`);
    console.log(['alg', ...names.filter((n) => n !== 'tessera')].map((s) => s.padEnd(13)).join(''));
    for (const alg of ALGS) {
      const row = result[kind][alg]!;
      const rel: Record<string, number | null> = {};
      for (const n of names) {
        if (n === 'tessera') continue;
        rel[n] = row.tessera != null && row[n] != null ? row.tessera / row[n]! : null;
      }
      ratios[`${kind}/${alg}`] = rel;
      console.log(
        [alg, ...names.filter((n) => n !== 'tessera').map((n) => ratio(row.tessera, row[n]))]
          .map((s) => s.padEnd(13))
          .join(''),
      );
    }
  }

  printDpop(dpop);

  const targets = ALGS.map((alg) => {
    const row = result.verify[alg]!;
    return {
      alg,
      verifyVsFloor: row.tessera! / row.floor!,
      verifySyncVsFloor: row.tesseraSync! / row.floor!,
      verifyVsFastJwt: row['fast-jwt'] == null ? null : row.tessera! / row['fast-jwt']!,
      verifyVsJose: row.tessera! / row.jose!,
    };
  });
  console.log('\ntargets: verify ≥ 0.6× floor (every alg), ≥ fast-jwt, ≥ 4× jose on HS256');
  for (const t of targets) {
    console.log(
      `${t.alg.padEnd(6)} vs floor ${t.verifyVsFloor.toFixed(2)}× (sync ${t.verifySyncVsFloor.toFixed(2)}×)` +
        `  vs fast-jwt ${t.verifyVsFastJwt == null ? 'n/a' : `${t.verifyVsFastJwt.toFixed(2)}×`}` +
        `  vs jose ${t.verifyVsJose.toFixed(2)}×`,
    );
  }

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const summary = {
    generated: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    rounds: ROUNDS,
    sliceMs: SLICE_MS,
    unit: 'ops per second of process CPU time (user+system), median of rounds; wallClock: ops per wall-clock second',
    loadAverage: loadavg(),
    notes:
      'tessera = await tokens.verify()/sign() (public async API); tesseraSync = tokens.verifySync(); floor = the signature operation alone on the same signing input; fast-jwt verifier with cache: false; jsonwebtoken has no EdDSA.',
    verify: result.verify,
    sign: result.sign,
    wallClock: wall,
    ratios,
    targets,
    dpop,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(
    new URL('./results/tokens.json', import.meta.url),
    `${JSON.stringify(summary, null, 2)}\n`,
  );
  console.log(`\nwrote bench/results/tokens.json (${summary.seconds} s)`);
}

await main();
