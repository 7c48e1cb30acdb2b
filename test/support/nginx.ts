/**
 * A real nginx (Debian's `/usr/sbin/nginx`) for the scale-out test: a self-signed certificate
 * made with `openssl`, a config written into a throwaway prefix directory (pid, logs and temp
 * paths there too), `nginx -p DIR -c nginx.conf` as a child process in the foreground, stopped
 * by PID. `nginxSiteConfig()` renders the `upstream` + `server` part that docs/scaling.md shows;
 * the test checks that the doc still carries it word for word.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './redis-server.js';

export interface NginxSite {
  /** `listen` address, e.g. `127.0.0.1:8443` or `443`. */
  listen: string;
  /** The app instances, `host:port` each. */
  upstreams: string[];
  certificate: string;
  certificateKey: string;
}

/**
 * The site part of the config: TLS on `listen`, round-robin over `upstreams` with kept-alive
 * upstream connections, no stickiness, and the forwarded headers a trusting app reads.
 * @example nginxSiteConfig({ listen: '443', upstreams: ['10.0.0.11:3000'], certificate, certificateKey })
 */
export function nginxSiteConfig(site: NginxSite): string {
  const servers = site.upstreams.map((address) => `    server ${address};`).join('\n');
  return `upstream tessera_app {
    # Round-robin (nginx's default): no ip_hash, no sticky cookie.
${servers}
    keepalive 32;
}

server {
    listen ${site.listen} ssl;
    ssl_certificate     ${site.certificate};
    ssl_certificate_key ${site.certificateKey};

    location / {
        proxy_pass http://tessera_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}
`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `    ${line}`))
    .join('\n');
}

/** The whole file the test runs: one worker (so round-robin is strict), everything in `dir`. */
function harnessConfig(dir: string, site: NginxSite): string {
  const temp = (name: string): string => `${name}_temp_path ${join(dir, `${name}-temp`)};`;
  return `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;

events {
    worker_connections 256;
}

http {
    access_log ${join(dir, 'access.log')};
    ${temp('client_body')}
    ${temp('proxy')}
    ${temp('fastcgi')}
    ${temp('uwsgi')}
    ${temp('scgi')}

${indent(nginxSiteConfig(site))}}
`;
}

export interface NginxHandle {
  /** `https://127.0.0.1:PORT` */
  readonly origin: string;
  readonly port: number;
  /** The self-signed certificate (PEM), to trust as a CA in clients. */
  readonly certificate: string;
  readonly pid: number | null;
  /** The config file as written. */
  readonly config: string;
  /** Stops nginx by PID and removes its directory. */
  destroy(): Promise<void>;
}

const NGINX = '/usr/sbin/nginx';
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // SIGQUIT is nginx's graceful stop; the worker goes with the master.
    child.kill('SIGQUIT');
  });
}

/**
 * Starts nginx on a free 127.0.0.1 port with TLS, in front of `upstreams`.
 * @example const nginx = await startNginx(['127.0.0.1:4001', '127.0.0.1:4002']);
 */
export async function startNginx(upstreams: string[]): Promise<NginxHandle> {
  if (!existsSync(NGINX)) {
    throw new Error(`${NGINX} not found (apt-get install -y nginx)`);
  }
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-nginx-'));
  const certificate = join(dir, 'cert.pem');
  const certificateKey = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      certificateKey,
      '-out',
      certificate,
    ],
    { stdio: 'ignore' },
  );
  const port = await findFreePort();
  const config = harnessConfig(dir, {
    listen: `127.0.0.1:${port}`,
    upstreams,
    certificate,
    certificateKey,
  });
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, config);
  const child = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', configPath], {
    stdio: 'ignore',
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const destroy = async (): Promise<void> => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(join(dir, 'error.log'))
        ? readFileSync(join(dir, 'error.log'), 'utf8')
        : '';
      await destroy();
      throw new Error(`nginx did not start on port ${port}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    certificate: readFileSync(certificate, 'utf8'),
    get pid() {
      return child.exitCode === null ? (child.pid ?? null) : null;
    },
    config,
    destroy,
  };
}
