// Certificates made at test time with the real openssl: a test CA and ECDSA P-256 leaf
// certificates signed by it, in a temp folder removed by cleanup(). Nothing is checked in.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Leaf {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: string;
  /** A leaf for these DNS names and IP addresses (subject CN = the first DNS name or IP). */
  leaf(name: string, sans: { dns?: string[]; ip?: string[] }): Leaf;
  /** A second, unrelated CA (for "wrong CA" cases). */
  otherCa(): { caFile: string; ca: string };
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): { keyFile: string; caFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const caFile = join(dir, `${name}.pem`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-sha256',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      caFile,
    ],
    dir,
  );
  return { keyFile, caFile };
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-pki-'));
  const ca = makeCa(dir, 'test-ca');
  let serial = 1;
  return {
    dir,
    caFile: ca.caFile,
    ca: readFileSync(ca.caFile, 'utf8'),
    leaf(name, sans) {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      const cn = sans.dns?.[0] ?? sans.ip?.[0] ?? name;
      const alt = [...(sans.dns ?? []).map((d) => `DNS:${d}`), ...(sans.ip ?? []).map((i) => `IP:${i}`)].join(',');
      writeFileSync(
        ext,
        `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n${alt ? `subjectAltName=${alt}\n` : ''}`,
      );
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
      openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', csr], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          ca.caFile,
          '-CAkey',
          ca.keyFile,
          '-set_serial',
          String(serial++),
          '-days',
          '2',
          '-sha256',
          '-extfile',
          ext,
          '-out',
          certFile,
        ],
        dir,
      );
      return { name, certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    },
    otherCa() {
      const other = makeCa(dir, `other-ca-${serial++}`);
      return { caFile: other.caFile, ca: readFileSync(other.caFile, 'utf8') };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
