import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509TrustStore } from './trust-store.js';
import { parseCertificateFile } from './certificate.js';
import { TrustStoreError } from './errors.js';
import { fixture, x5cOf } from './test-support.js';

const wabbitPem = () => fixture('certs/wabbit-networks.io.crt');
const [wabbitLeaf, wabbitCa] = parseCertificateFile(wabbitPem()).map((c) => c.der) as [Buffer, Buffer];
const alpine = () => x5cOf(fixture('envelopes/jws_signature.sig'))[0] as Buffer;

test('named stores hold CA or self-signed certificates', () => {
  const store = X509TrustStore.fromCertificates([
    { type: 'ca', name: 'wabbit', certificates: [wabbitCa] },
    { type: 'ca', name: 'alpine', certificates: [alpine()] },
    { type: 'ca', name: 'leaf-only', certificates: [wabbitLeaf] },
    { type: 'ca', name: 'empty', certificates: [] },
    { type: 'ca', name: 'garbage', certificates: [Buffer.from('nope')] },
    { type: 'tsa', name: 'root', certificates: [wabbitCa] },
    { type: 'tsa', name: 'self-signed-leaf', certificates: [alpine()] },
  ]);
  assert.equal(store.certificates('ca', 'wabbit')[0]?.subjectString, 'CN=wabbit-networks.io CA,O=Notary,L=Seattle,ST=WA,C=US');
  assert.equal(store.certificates('ca', 'alpine').length, 1);
  assert.equal(store.certificates('tsa', 'root').length, 1);
  const fails: [() => unknown, RegExp][] = [
    [() => store.certificates('ca', 'missing'), /"missing" of type ca does not exist/],
    [() => store.certificates('signingAuthority', 'wabbit'), /does not exist/],
    [() => store.certificates('ca', 'leaf-only'), /is not a CA certificate or self-signed/],
    [() => store.certificates('ca', 'empty'), /holds no certificate/],
    [() => store.certificates('ca', 'garbage'), /not a DER X.509 certificate/],
    [() => store.certificates('tsa', 'self-signed-leaf'), /not a self-signed root CA certificate/],
  ];
  for (const [f, re] of fails) assert.throws(f, (e: unknown) => e instanceof TrustStoreError && re.test(e.message));
});

test('reads a notation trust store directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-truststore-'));
  try {
    const ca = join(dir, 'x509', 'ca');
    const put = (path: string, bytes: Uint8Array | string) => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, bytes);
    };
    put(join(ca, 'wabbit', 'chain.pem'), wabbitPem()); // leaf + CA: the leaf is neither, so the store fails
    put(join(ca, 'wabbit-ca', 'ca.cer'), wabbitCa); // DER
    put(join(ca, 'wabbit-ca', 'notes.txt'), 'ignored: not .pem/.crt/.cer');
    put(join(ca, 'wabbit-ca', 'sub', 'other.crt'), 'ignored: in a sub directory');
    put(join(ca, 'alpine', 'ALPINE.CRT'), `-----BEGIN CERTIFICATE-----\n${alpine().toString('base64')}\n-----END CERTIFICATE-----\n`);
    put(join(ca, 'broken', 'x.pem'), 'not a certificate');
    mkdirSync(join(ca, 'empty'));
    put(join(dir, 'x509', 'signingAuthority', 'sa', 'root.crt'), wabbitCa);
    symlinkSync(join(ca, 'alpine'), join(ca, 'linked-store'));
    put(join(ca, 'linked-file', 'real.txt'), '');
    symlinkSync(join(ca, 'alpine', 'ALPINE.CRT'), join(ca, 'linked-file', 'link.crt'));
    put(join(ca, 'stray.crt'), wabbitCa); // a file directly under x509/ca is not a named store

    const store = await X509TrustStore.readDirectory(dir);
    assert.equal(store.certificates('ca', 'wabbit-ca')[0]?.der.equals(wabbitCa), true);
    assert.equal(store.certificates('ca', 'wabbit-ca').length, 1);
    assert.equal(store.certificates('ca', 'alpine').length, 1);
    assert.equal(store.certificates('signingAuthority', 'sa').length, 1);
    const fails: [string, RegExp][] = [
      ['wabbit', /certificate CN=wabbit-networks.io,.* is not a CA certificate or self-signed/],
      ['broken', /trusted certificate file x.pem in trust store "broken"/],
      ['empty', /holds no certificate/],
      ['linked-store', /is a symlink/],
      ['linked-file', /link.crt .* is a symlink/],
      ['stray.crt', /does not exist/],
    ];
    for (const [name, re] of fails) assert.throws(() => store.certificates('ca', name), re, name);
    const none = await X509TrustStore.readDirectory(join(dir, 'nowhere'));
    assert.throws(() => none.certificates('ca', 'wabbit-ca'), /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
