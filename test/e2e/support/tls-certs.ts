// Certificates for TLS tests, made at test time with the openssl command line: a test CA
// (ECDSA P-256), server certificates it signs with the names asked for (SAN DNS), client
// certificates, and a self-signed "other" CA whose certificates must be refused. Files
// are written into a temp folder the caller removes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
}

export interface Issued {
  readonly cert: string;
  readonly key: string;
  /** Hex serial as openssl prints it (upper case). */
  readonly serial: string;
}

let serialSeq = 0x1000 + Math.floor(Math.random() * 0x6000); // four hex digits, as openssl prints it

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
}

export function makeCa(name = 'handoff test CA', dir = mkdtempSync(join(tmpdir(), 'handoff-tls-'))): TestCa {
  const caKey = join(dir, `${name.replace(/\W+/g, '-')}.key`);
  const caCert = join(dir, `${name.replace(/\W+/g, '-')}.pem`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey], dir);
  openssl(['req', '-new', '-x509', '-key', caKey, '-out', caCert, '-days', '30', '-subj', `/CN=${name}`], dir);
  return { dir, caCert, caKey };
}

/**
 * A certificate signed by `ca`. `names`: SAN DNS names (none: CN only). `days`: validity
 * (may be fractional, e.g. 0.5; negative start for an expired one with `expired`).
 */
export function issue(
  ca: TestCa,
  file: string,
  o: { names?: string[]; cn?: string; days?: number; client?: boolean; expired?: boolean; keyMode?: number } = {},
): Issued {
  const dir = ca.dir;
  const key = join(dir, `${file}.key`);
  const cert = join(dir, `${file}.pem`);
  const csr = join(dir, `${file}.csr`);
  const ext = join(dir, `${file}.ext`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  chmodSync(key, o.keyMode ?? 0o600);
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${o.cn ?? o.names?.[0] ?? file}/O=handoff tests`], dir);
  const lines = [
    'basicConstraints=CA:FALSE',
    `extendedKeyUsage=${o.client ? 'clientAuth' : 'serverAuth'}`,
    ...(o.names && o.names.length > 0 ? [`subjectAltName=${o.names.map((n) => `DNS:${n}`).join(',')}`] : []),
  ];
  writeFileSync(ext, `${lines.join('\n')}\n`);
  const serial = (serialSeq++).toString(16).toUpperCase();
  const args = [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caCert,
    '-CAkey',
    ca.caKey,
    '-set_serial',
    `0x${serial}`,
    '-out',
    cert,
    '-extfile',
    ext,
  ];
  if (o.expired) {
    // openssl 3.0's x509 cannot set a start date: `openssl ca` can, with a minimal config.
    const cnf = join(dir, `${file}.cnf`);
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial.txt'), '1000\n');
    writeFileSync(
      cnf,
      `[ca]\ndefault_ca=t\n[t]\ndatabase=${join(dir, 'index.txt')}\nserial=${join(dir, 'serial.txt')}\nnew_certs_dir=${dir}\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\norganizationName=optional\n`,
    );
    openssl(
      [
        'ca',
        '-batch',
        '-config',
        cnf,
        '-cert',
        ca.caCert,
        '-keyfile',
        ca.caKey,
        '-in',
        csr,
        '-out',
        cert,
        '-notext',
        '-startdate',
        '20200101000000Z',
        '-enddate',
        '20200102000000Z',
        '-extfile',
        ext,
      ],
      dir,
    );
    rmSync(csr);
    rmSync(ext);
    return { cert, key, serial: '' };
  }
  args.push('-days', String(Math.max(1, Math.ceil(o.days ?? 30))));
  openssl(args, dir);
  rmSync(csr);
  rmSync(ext);
  return { cert, key, serial: serial.length % 2 === 1 ? `0${serial}` : serial };
}

/** The serial of a PEM certificate, as openssl prints it (upper-case hex). */
export function serialOfPem(pem: string): string {
  const out = execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem }).toString('utf8');
  return (/serial=([0-9A-F]+)/i.exec(out)?.[1] ?? '').toUpperCase();
}

export function removeCa(ca: TestCa): void {
  rmSync(ca.dir, { recursive: true, force: true });
}
