import { test } from 'node:test';
import assert from 'node:assert/strict';
import { artifactRepository, parseTrustPolicyDocument, selectTrustPolicy } from './trust-policy.js';
import { TrustPolicyError } from './errors.js';
import { fixture } from './test-support.js';

const policy = (name: string) => fixture(`trust-policies/${name}`);
/** The spec writes its examples as JSON with comments. */
const specExample = () => fixture('trust-policies/spec-example-3-v1.0.jsonc').toString('utf8').replace(/^\s*\/\/.*$/gm, '');
const DIGEST = `sha256:${'1'.repeat(64)}`;

// Which notation e2e trust policies notation accepts follows from the e2e suite's names and
// expectations (test/e2e/suite/trustpolicy in notaryproject/notation).
test('accepts the valid notation e2e trust policies', () => {
  for (const name of ['valid_trusted_identity_trustpolicy.json', 'quickstart_trustpolicy.json', 'registry_scope_trustpolicy.json', 'invalid_trusted_identity_trustpolicy.json', 'invalid_trust_store_trustpolicy.json']) {
    const doc = parseTrustPolicyDocument(policy(name));
    assert.equal(doc.trustPolicies.length, 1, name);
  }
  const doc = parseTrustPolicyDocument(policy('valid_trusted_identity_trustpolicy.json'));
  const s = doc.trustPolicies[0];
  assert.deepEqual(s?.trustStores, [{ type: 'ca', name: 'e2e' }]);
  assert.deepEqual([...(s?.x509Identities[0] ?? [])], [['CN', 'e2e'], ['O', 'Notary'], ['L', 'Seattle'], ['ST', 'WA'], ['C', 'US']]);
  assert.equal(s?.anyIdentity, false);
  assert.equal(parseTrustPolicyDocument(policy('quickstart_trustpolicy.json')).trustPolicies[0]?.anyIdentity, true);
});

test('refuses the invalid notation e2e trust policies with the rule broken', () => {
  const cases: [string, RegExp][] = [
    ['malformed_trust_store_trustpolicy.json', /invalid trust store name ""/],
    ['multi_statements_with_the_same_name_trustpolicy.json', /names must be unique/],
    ['wildcard_plus_other_registry_scope_trustpolicy.json', /wildcard registry scope "\*" together with other scopes/],
    ['override_integrity_for_permissive_trustpolicy.json', /integrity verification cannot be overridden/],
    ['overlapped_trusted_identity_trustpolicy.json', /overlapping trusted identities/],
    ['missing_state_trusted_identity_trustpolicy.json', /must contain the C, ST and O attributes \(missing ST\)/],
  ];
  for (const [name, re] of cases) {
    assert.throws(() => parseTrustPolicyDocument(policy(name)), (e: unknown) => e instanceof TrustPolicyError && re.test(e.message), name);
  }
});

test('the spec example 3 breaks its own trust store format rule', () => {
  assert.throws(() => parseTrustPolicyDocument(specExample()), /malformed trust store "wabbit-networks"; the format is <type>:<name>/);
});

test('selects statements like the spec: exact scope first, then the global one', () => {
  const doc = parseTrustPolicyDocument(specExample().replace('["wabbit-networks"]', '["ca:wabbit-networks"]'));
  const pick = (ref: string) => selectTrustPolicy(doc, ref)?.name;
  assert.equal(pick(`registry.acme-rockets.io/software/net-monitor@${DIGEST}`), 'wabbit-networks-images');
  assert.equal(pick(`registry.acme-rockets.io/software/net-logger@${DIGEST}`), 'wabbit-networks-images');
  assert.equal(pick(`registry.wabbit-networks.io/software/unsigned/net-utils@${DIGEST}`), 'unsigned-image');
  assert.equal(pick(`registry.acme-rockets.io/software/net-monitor-2@${DIGEST}`), 'global-policy-for-all-other-images');
  assert.equal(pick(`localhost:5000/net-monitor@${DIGEST}`), 'global-policy-for-all-other-images');
  const only = parseTrustPolicyDocument(policy('registry_scope_trustpolicy.json'));
  assert.equal(selectTrustPolicy(only, `localhost:5001/test-repo@${DIGEST}`)?.name, 'e2e');
  assert.equal(selectTrustPolicy(only, `localhost:5001/other@${DIGEST}`), undefined);
});

test('verification levels follow the spec table and overrides', () => {
  const doc = parseTrustPolicyDocument(specExample().replace('["wabbit-networks"]', '["ca:wabbit-networks"]'));
  const level = (name: string) => doc.trustPolicies.find((s) => s.name === name)?.level;
  assert.deepEqual(level('wabbit-networks-images'), {
    name: 'strict',
    enforcement: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'enforce', revocation: 'enforce' },
  });
  assert.deepEqual(level('use-expired-image'), {
    name: 'custom',
    enforcement: { integrity: 'enforce', authenticity: 'enforce', authenticTimestamp: 'enforce', expiry: 'log', revocation: 'skip' },
  });
  assert.deepEqual(level('global-policy-for-all-other-images')?.enforcement, {
    integrity: 'enforce',
    authenticity: 'log',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  });
  assert.equal(level('unsigned-image')?.name, 'skip');
  const permissive = parseTrustPolicyDocument(statement({ signatureVerification: { level: 'permissive' } }));
  assert.deepEqual(permissive.trustPolicies[0]?.level.enforcement, {
    integrity: 'enforce',
    authenticity: 'enforce',
    authenticTimestamp: 'log',
    expiry: 'log',
    revocation: 'log',
  });
});

function statement(patch: Record<string, unknown>, version: unknown = '1.0'): unknown {
  return {
    version,
    trustPolicies: [
      { name: 'p', registryScopes: ['*'], signatureVerification: { level: 'strict' }, trustStores: ['ca:s'], trustedIdentities: ['*'], ...patch },
    ],
  };
}

test('refuses documents that break the other rules', () => {
  const cases: [unknown, RegExp][] = [
    ['{', /not JSON/],
    [[], /JSON object/],
    [statement({}, '1.1'), /version "1.1" is not supported/],
    [{ ...(statement({}) as object), version: '' }, /missing version/],
    [{ version: '1.0', trustPolicies: [] }, /at least one statement/],
    [{ version: '1.0', trustPolicies: [], extra: 1 }, /unknown member "extra"/],
    [statement({ scopes: ['oci:*'] }), /unknown member "scopes"/],
    [statement({ name: '' }), /missing a name/],
    [statement({ signatureVerification: undefined }), /missing signatureVerification/],
    [statement({ signatureVerification: { level: 'lenient' } }), /not strict, permissive, audit or skip/],
    [statement({ signatureVerification: { level: 'skip' } }), /skips signature verification but has trustStores/],
    [statement({ signatureVerification: { level: 'skip', override: { expiry: 'log' } }, trustStores: [], trustedIdentities: [] }), /skip cannot be customised/],
    [statement({ signatureVerification: { level: 'strict', override: { authenticity: 'skip' } } }), /authenticity verification cannot be skipped/],
    [statement({ signatureVerification: { level: 'strict', override: { speed: 'log' } } }), /override key "speed"/],
    [statement({ signatureVerification: { level: 'strict', override: { expiry: 'warn' } } }), /override action "warn"/],
    [statement({ trustStores: [] }), /needs both trustStores and trustedIdentities/],
    [statement({ trustStores: ['x509:s'] }), /unsupported trust store type "x509"/],
    [statement({ trustStores: ['ca:a/b'] }), /invalid trust store name "a\/b"/],
    [statement({ trustedIdentities: ['*', 'x509.subject: C=US, ST=WA, O=x'] }), /wildcard trusted identity/],
    [statement({ trustedIdentities: [''] }), /empty trusted identity/],
    [statement({ trustedIdentities: ['C=US, ST=WA, O=x'] }), /without a "<type>:" prefix/],
    [statement({ trustedIdentities: ['x509.subject:'] }), /without a value/],
    [statement({ trustedIdentities: ['x509.subject: C=US, ST=WA, O=x, CN=a+OU=b'] }), /multi-valued/],
    [statement({ registryScopes: [] }), /no registryScopes/],
    [statement({ registryScopes: ['registry.io/team/*'] }), /contains a wildcard/],
    [statement({ registryScopes: ['net-monitor'] }), /not a fully qualified repository/],
    [statement({ registryScopes: ['https://registry.io/app'] }), /not a fully qualified repository/],
    [statement({ registryScopes: ['registry.io/App'] }), /not a fully qualified repository/],
    [statement({ trustStores: 'ca:s' }), /must be an array of strings/],
    [{ version: '1.0', trustPolicies: Array(1001).fill({}) }, /more than 1000 statements/],
  ];
  for (const [doc, re] of cases) {
    assert.throws(() => parseTrustPolicyDocument(typeof doc === 'string' ? doc : doc), (e: unknown) => e instanceof TrustPolicyError && re.test(e.message), JSON.stringify(doc)?.slice(0, 200));
  }
  const twoGlobals = { version: '1.0', trustPolicies: [(statement({}) as { trustPolicies: unknown[] }).trustPolicies[0], { ...(statement({ name: 'q' }) as { trustPolicies: Record<string, unknown>[] }).trustPolicies[0] }] };
  assert.throws(() => parseTrustPolicyDocument(twoGlobals), /registry scope "\*" is in statements "p" and "q"/);
});

test('identities with other prefixes are accepted and left to plugins', () => {
  const doc = parseTrustPolicyDocument(statement({ trustedIdentities: ['plugin.kind: something'] }));
  assert.deepEqual(doc.trustPolicies[0]?.x509Identities, []);
  assert.equal(doc.trustPolicies[0]?.anyIdentity, false);
});

test('artifact references must be host/repository@digest', () => {
  assert.equal(artifactRepository(`localhost:5000/a/b@${DIGEST}`), 'localhost:5000/a/b');
  for (const bad of ['localhost:5000/a/b:v1', `a@${DIGEST}`, `@${DIGEST}`, `HOST/a@${DIGEST}x`.replace('HOST', 'bad host')]) {
    assert.throws(() => artifactRepository(bad), TrustPolicyError, bad);
  }
});

test('mutated documents give TrustPolicyError or parse, never another error', () => {
  const text = policy('valid_trusted_identity_trustpolicy.json');
  let seed = 3;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 500; i++) {
    const bytes = Buffer.from(text);
    bytes[random(bytes.length)] = 32 + random(95);
    try {
      parseTrustPolicyDocument(bytes);
    } catch (e) {
      assert.ok(e instanceof TrustPolicyError, String(e));
    }
  }
});
