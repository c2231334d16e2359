// Real TLS clients for tests: curl and openssl s_client, run to completion with a bound.
import { execFile } from 'node:child_process';
import { serialOfPem } from './tls-certs.js';

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** curl over https to `name` resolved to 127.0.0.1:port, trusting `ca`. */
export function curlHttps(port: number, name: string, ca: string, path = '/', extra: string[] = []): Promise<Ran> {
  return run('curl', [
    '-sS',
    '-i',
    '--max-time',
    '10',
    '--resolve',
    `${name}:${port}:127.0.0.1`,
    '--cacert',
    ca,
    ...extra,
    `https://${name}:${port}${path}`,
  ]);
}

export interface Handshake {
  readonly ok: boolean;
  readonly protocol: string;
  readonly alpn: string;
  /** Serial of the certificate the server presented ('' when none). */
  readonly serial: string;
  readonly output: string;
}

/** `openssl s_client` to 127.0.0.1:port; `args` add -servername, -tls1_2, -alpn, -cert ... */
export async function sClient(port: number, args: string[], input = ''): Promise<Handshake> {
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { input });
  const out = r.stdout + r.stderr;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  const protocol = /Protocol\s*:\s*(\S+)/.exec(out)?.[1] ?? /New, (TLSv[\d.]+)/.exec(out)?.[1] ?? '';
  return {
    ok: pem !== undefined && protocol !== '' && protocol !== '(NONE)',
    protocol,
    alpn: /ALPN protocol: (\S+)/.exec(out)?.[1] ?? '',
    serial: pem ? serialOfPem(pem) : '',
    output: out,
  };
}
