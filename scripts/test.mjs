#!/usr/bin/env node
// `npm test`: makes sure the system services the suite runs against are installed (Redis,
// PostgreSQL, Chromium, nginx, openssl from Debian's packages), checks format, lint and types,
// builds the package, then runs vitest.
// Tests start and stop their own server instances on free loopback ports.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const needs = [
  { pkg: 'redis-server', found: () => onPath('redis-server') && onPath('redis-cli') },
  { pkg: 'postgresql', found: () => postgresBin() !== null },
  { pkg: 'chromium', found: () => existsSync('/usr/bin/chromium') },
  { pkg: 'nginx', found: () => onPath('nginx') || existsSync('/usr/sbin/nginx') },
  // The scale-out test terminates TLS in nginx with a certificate it makes with openssl.
  { pkg: 'openssl', found: () => onPath('openssl') },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function postgresBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  for (const version of readdirSync(root).sort().reverse()) {
    if (existsSync(`${root}/${version}/bin/initdb`)) return `${root}/${version}/bin`;
  }
  return null;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`npm test: \`${[command, ...args].join(' ')}\` failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

const missing = needs.filter((need) => !need.found()).map((need) => need.pkg);
if (missing.length > 0) {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? [] : onPath('sudo') ? ['sudo'] : null;
  if (sudo === null || !onPath('apt-get')) {
    console.error(
      `npm test: missing system packages: ${missing.join(', ')}. Install them (Debian/Ubuntu: ` +
        `apt-get install ${missing.join(' ')}) and run again.`,
    );
    process.exit(1);
  }
  console.log(`npm test: installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) =>
    sudo.length ? run('sudo', ['apt-get', ...args], { env }) : run('apt-get', args, { env });
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
}

// The same gates CI needs: format + lint (Biome), the typecheck, the build, then the tests.
run('npm', ['run', '-s', 'lint']);
run('npm', ['run', '-s', 'typecheck']);
run('npm', ['run', '-s', 'build']);
const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
