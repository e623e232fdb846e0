import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  distinguishedNameOf,
  formatDistinguishedName,
  isSubsetDn,
  parseDistinguishedName,
  parseX509SubjectIdentity,
} from './distinguished-name.js';
import { DistinguishedNameError } from './errors.js';

// Inputs and expected validity from notation-go internal/pkix/pkix_test.go (TestParseDistinguishedName).
const NOTATION_CASES: [string, boolean][] = [
  ['C=US,ST=California,O=Notary Project', true],
  ['C=US,S=California,O=Notary Project', true],
  ['C=US,ST=California', false],
  ['C=US,O=Notary Project', false],
  ['invalid', false],
  ['C=US,ST=California,O=Notary Project,S=California', false],
  ['C=US,ST=California,O=Notary Project=#', false],
  ['OU=Sales+CN=J.  Smith,DC=example,DC=net', false],
];

test('x509.subject identities follow notation-go pkix test cases', () => {
  for (const [input, ok] of NOTATION_CASES) {
    if (ok) assert.doesNotThrow(() => parseX509SubjectIdentity(input), input);
    else assert.throws(() => parseX509SubjectIdentity(input), DistinguishedNameError, input);
  }
  assert.equal(parseX509SubjectIdentity('C=US,S=California,O=Notary Project').get('ST'), 'California');
});

test('hex-encoded values (#...) are refused, as notation refuses "=#"', () => {
  // RFC 4514 section 4 example of a hexstring value.
  assert.throws(() => parseDistinguishedName('1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com'), /hex-encoded value/);
});

test('RFC 4514 section 4 escaping examples decode', () => {
  // The RFC's examples repeat DC, which a map of attributes cannot hold (refused, as in notation);
  // their escaped RDNs are checked on their own.
  assert.throws(() => parseDistinguishedName('CN=James \\"Jim\\" Smith\\, III,DC=example,DC=net'), /DC appears more than once/);
  const a = parseDistinguishedName('CN=James \\"Jim\\" Smith\\, III,DC=net');
  assert.equal(a.get('CN'), 'James "Jim" Smith, III');
  assert.equal(parseDistinguishedName('CN=Before\\0dAfter,DC=net').get('CN'), 'Before\rAfter');
  assert.equal(parseDistinguishedName('CN=Lu\\C4\\8Di\\C4\\87').get('CN'), 'Lu\u010di\u0107');
  // Multi-valued RDN example of section 4: valid RFC 4514, unsupported like in notation.
  assert.throws(() => parseDistinguishedName('OU=Sales+CN=J.  Smith,DC=example,DC=net'), /multi-valued/);
});

test('the spec example identity with spaces parses into all six attributes', () => {
  const dn = parseX509SubjectIdentity(' C=US, ST=WA, L=Seattle, O=acme-rockets.io, OU=Finance, CN=SecureBuilder');
  assert.deepEqual([...dn], [
    ['C', 'US'],
    ['ST', 'WA'],
    ['L', 'Seattle'],
    ['O', 'acme-rockets.io'],
    ['OU', 'Finance'],
    ['CN', 'SecureBuilder'],
  ]);
});

test('types are case-insensitive, escaped edge spaces are kept and unescaped ones trimmed', () => {
  const dn = parseDistinguishedName('c=US,st=WA,o=\\ padded\\ ,cn=x  ');
  assert.equal(dn.get('C'), 'US');
  assert.equal(dn.get('O'), ' padded ');
  assert.equal(dn.get('CN'), 'x');
  assert.equal(parseDistinguishedName('2.5.4.3=name').get('2.5.4.3'), 'name');
});

test('malformed names give DistinguishedNameError naming the problem', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['C=US,', /ends with/],
    ['C=US;ST=WA', /must be escaped/],
    ['CN=a<b', /must be escaped/],
    ['=US', /attribute type/],
    ['C US', /expected "="/],
    ['CN=a\\q', /invalid escape/],
    ['CN=', /empty value/],
    ['CN=\\ff', /UTF-8/],
    ['1.=x', /numeric OID/],
    ['C'.repeat(5000), /longer than/],
  ];
  for (const [input, re] of bad) assert.throws(() => parseDistinguishedName(input), re, input);
});

test('subset match is order-insensitive and needs every attribute (notation-go TestIsSubsetDN)', () => {
  const m = (o: Record<string, string>) => new Map(Object.entries(o));
  const base = { C: 'US', ST: 'California', O: 'Notary Project' };
  assert.equal(isSubsetDn(m(base), m({ ...base, L: 'Los Angeles' })), true);
  assert.equal(isSubsetDn(m(base), m({ ...base, O: 'Notary Project 2', L: 'Los Angeles', CN: 'Notary' })), false);
  assert.equal(isSubsetDn(m({ ...base, CN: 'Notary' }), m({ ...base, L: 'Los Angeles' })), false);
  const reordered = parseX509SubjectIdentity('O=Notary Project, C=US, ST=California');
  assert.equal(isSubsetDn(reordered, m({ ...base, L: 'Los Angeles' })), true);
});

test('certificate subjects map to names and format as RFC 4514, last RDN first', () => {
  const rdns = [[{ type: 'C', value: 'US' }], [{ type: 'O', value: 'a, b' }], [{ type: 'CN', value: ' #x ' }]];
  assert.equal(formatDistinguishedName(rdns), 'CN=\\ #x\\ ,O=a\\, b,C=US');
  assert.equal(distinguishedNameOf(rdns).get('O'), 'a, b');
  assert.throws(() => distinguishedNameOf([[{ type: 'OU', value: 'a' }, { type: 'CN', value: 'b' }]]), /multi-valued/);
  assert.throws(() => distinguishedNameOf([[{ type: 'OU', value: 'a' }], [{ type: 'OU', value: 'b' }]]), /more than once/);
});
