/*
 * Test-only helpers for the notation tests: the checked-in fixtures (test/fixtures/notation, see
 * its README) and certificate chains made with the openssl CLI (node:crypto cannot create
 * certificates). Not used by production code.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of test/fixtures/notation, found by walking up from this file. */
export function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    const candidate = join(dir, 'test', 'fixtures', 'notation');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('test/fixtures/notation not found above the test file');
}

export function fixture(relative: string): Buffer {
  return readFileSync(join(fixturesDir(), relative));
}

/** The DER certificates of an envelope's x5c header. */
export function x5cOf(envelope: Uint8Array): Buffer[] {
  const doc = JSON.parse(Buffer.from(envelope).toString('utf8')) as { header: { x5c: string[] } };
  return doc.header.x5c.map((c) => Buffer.from(c, 'base64'));
}

/** Rewrites one top-level member of a JSON envelope. */
export function withMember(envelope: Uint8Array, member: string, value: unknown): Buffer {
  const doc = JSON.parse(Buffer.from(envelope).toString('utf8')) as Record<string, unknown>;
  doc[member] = value;
  return Buffer.from(JSON.stringify(doc));
}

export const hasOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export type KeySpec = 'P-256' | 'P-384' | 'P-521' | 'rsa2048' | 'rsa1024' | 'ed25519';

export interface TestCertificate {
  der: Buffer;
  key: KeyObject;
}

export interface TestPki {
  root: TestCertificate;
  intermediate?: TestCertificate;
  leaf: TestCertificate;
  /** DER, leaf first, ending with the root. */
  chain: Buffer[];
}

export interface PkiOptions {
  leafKey?: KeySpec;
  caKey?: KeySpec;
  withIntermediate?: boolean;
  /** openssl extension lines for the leaf (default: critical digitalSignature, codeSigning). */
  leafExtensions?: string[];
  rootExtensions?: string[];
  intermediateExtensions?: string[];
  leafSubject?: string;
  /** Signature digest for the leaf certificate (default sha256). */
  leafDigest?: 'sha1' | 'sha256';
}

const MIN_CONFIG = '[req]\ndistinguished_name = dn\n[dn]\n';
const CA_EXTENSIONS = ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign'];
const LEAF_EXTENSIONS = ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning'];

/** Makes root [-> intermediate] -> leaf with openssl in a temporary directory (removed afterwards). */
export function makePki(opts: PkiOptions = {}): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'berth-notation-'));
  try {
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    };
    writeFileSync(join(dir, 'min.cnf'), MIN_CONFIG);
    const genKey = (name: string, spec: KeySpec): KeyObject => {
      if (spec === 'ed25519') run('genpkey', '-algorithm', 'ED25519', '-out', `${name}.key`);
      else if (spec.startsWith('rsa')) run('genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${spec.slice(3)}`, '-out', `${name}.key`);
      else run('genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec}`, '-out', `${name}.key`);
      return createPrivateKey(readFileSync(join(dir, `${name}.key`)));
    };
    const read = (name: string, key: KeyObject): TestCertificate => {
      run('x509', '-in', `${name}.crt`, '-outform', 'DER', '-out', `${name}.der`);
      return { der: readFileSync(join(dir, `${name}.der`)), key };
    };
    const caSpec = opts.caKey ?? 'P-256';
    const rootKey = genKey('root', caSpec);
    const rootExt = (opts.rootExtensions ?? CA_EXTENSIONS).flatMap((e) => ['-addext', e]);
    run('req', '-x509', '-new', '-key', 'root.key', '-subj', '/C=US/ST=WA/O=berth test/CN=Test Root', '-days', '3650', '-config', 'min.cnf', ...rootExt, '-out', 'root.crt');
    const root = read('root', rootKey);
    const issue = (name: string, issuer: string, subject: string, spec: KeySpec, extensions: string[], digest = 'sha256'): TestCertificate => {
      const key = genKey(name, spec);
      writeFileSync(join(dir, `${name}.ext`), `[ext]\n${extensions.join('\n')}\n`);
      run('req', '-new', '-key', `${name}.key`, '-subj', subject, '-config', 'min.cnf', '-out', `${name}.csr`);
      const serial = String(Math.floor(Math.random() * 1e9) + 2);
      run('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-set_serial', serial,
        '-days', '365', `-${digest}`, '-extfile', `${name}.ext`, '-extensions', 'ext', '-out', `${name}.crt`);
      return read(name, key);
    };
    let issuer = 'root';
    let intermediate: TestCertificate | undefined;
    if (opts.withIntermediate) {
      intermediate = issue('intermediate', 'root', '/C=US/ST=WA/O=berth test/CN=Test Intermediate', caSpec, opts.intermediateExtensions ?? CA_EXTENSIONS);
      issuer = 'intermediate';
    }
    const leaf = issue(
      'leaf',
      issuer,
      opts.leafSubject ?? '/C=US/ST=WA/L=Seattle/O=berth test/OU=Build/CN=Test Signer',
      opts.leafKey ?? 'P-256',
      opts.leafExtensions ?? LEAF_EXTENSIONS,
      opts.leafDigest,
    );
    const chain = [leaf.der, ...(intermediate ? [intermediate.der] : []), root.der];
    return { root, intermediate, leaf, chain };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
