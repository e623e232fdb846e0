import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OsInfo, Package } from '../types.js';
import { advisoryQuery } from './ecosystem.js';

const pkg = (p: Partial<Package> & Pick<Package, 'name' | 'version' | 'type'>): Package => ({ purl: '', path: '/x', ...p });
const os = (id: string, versionId?: string, extra: Partial<OsInfo> = {}): OsInfo => ({ id, versionId, ...extra });

test('Debian and Ubuntu packages are looked up by source package and source version', () => {
  const libc6 = pkg({ name: 'libc6', version: '2.36-9+deb12u3+b1', type: 'dpkg', source: { name: 'glibc', version: '2.36-9+deb12u3' } });
  assert.deepEqual(advisoryQuery(libc6, os('debian', '12')), { ecosystems: ['Debian:12'], prefixes: [], names: ['glibc'], version: '2.36-9+deb12u3' });
  assert.deepEqual(advisoryQuery(libc6, os('ubuntu', '22.04')), {
    ecosystems: ['Ubuntu:22.04', 'Ubuntu:22.04:LTS'],
    prefixes: [],
    names: ['glibc'],
    version: '2.36-9+deb12u3',
  });
  // A package that is its own source.
  assert.deepEqual(advisoryQuery(pkg({ name: 'bash', version: '5.2.15-2', type: 'dpkg' }), os('debian', '12'))?.names, ['bash']);
  assert.deepEqual(advisoryQuery(libc6, os('debian', undefined, { versionCodename: 'sid' }))?.ecosystems, ['Debian:sid']);
  assert.equal(advisoryQuery(libc6, os('debian', undefined, { versionCodename: 'trixie' })), undefined);
  assert.equal(advisoryQuery(libc6, undefined), undefined);
});

test('Alpine packages use the release branch and their origin', () => {
  const ssl = pkg({ name: 'libssl3', version: '3.1.4-r5', type: 'apk', source: { name: 'openssl' } });
  assert.deepEqual(advisoryQuery(ssl, os('alpine', '3.19.1')), { ecosystems: ['Alpine:v3.19'], prefixes: [], names: ['openssl'], version: '3.1.4-r5' });
  assert.deepEqual(advisoryQuery(ssl, os('alpine', '3.20.0_alpha20240329'))?.ecosystems, ['Alpine:v3.20']);
  assert.deepEqual(advisoryQuery(ssl, os('wolfi', '20230201'))?.ecosystems, ['Wolfi']);
  assert.equal(advisoryQuery(ssl, os('alpine', 'edge')), undefined);
});

test('RPM distributions use their ecosystem names and ask for binary and source names', () => {
  const p = pkg({ name: 'openssl-libs', version: '1:3.0.7-24.el9', type: 'rpm', source: { name: 'openssl-3.0.7-24.el9.src.rpm' } });
  assert.deepEqual(advisoryQuery(p, os('almalinux', '9.3')), { ecosystems: ['AlmaLinux:9'], prefixes: [], names: ['openssl-libs', 'openssl'], version: '1:3.0.7-24.el9' });
  assert.deepEqual(advisoryQuery(p, os('rocky', '9.3'))?.ecosystems, ['Rocky Linux:9']);
  assert.deepEqual(advisoryQuery(p, os('rhel', '9.3')), { ecosystems: [], prefixes: ['Red Hat:enterprise_linux:9::'], names: ['openssl-libs', 'openssl'], version: '1:3.0.7-24.el9' });
  assert.deepEqual(advisoryQuery(p, os('opensuse-leap', '15.5', { prettyName: 'openSUSE Leap 15.5' }))?.ecosystems, ['openSUSE:openSUSE Leap 15.5']);
  assert.equal(advisoryQuery(p, os('fedora', '39')), undefined);
});

test('language packages map to their OSV ecosystems', () => {
  const q = (p: Package) => advisoryQuery(p, undefined);
  assert.deepEqual(q(pkg({ name: 'ansi-html', version: '0.0.7', type: 'npm' })), { ecosystems: ['npm'], prefixes: [], names: ['ansi-html'], version: '0.0.7' });
  assert.deepEqual(q(pkg({ name: 'Flask', version: '2.3.1', type: 'python' }))?.names, ['flask']);
  assert.deepEqual(q(pkg({ name: 'github.com/opencontainers/runc', version: 'v1.0.2', type: 'go-module' })), {
    ecosystems: ['Go'],
    prefixes: [],
    names: ['github.com/opencontainers/runc'],
    version: '1.0.2',
  });
  assert.equal(q(pkg({ name: 'stdlib', version: 'go1.18.1', type: 'go-module' }))?.version, '1.18.1');
  assert.deepEqual(q(pkg({ name: 'org.apache.logging.log4j:log4j-core', version: '2.25.3', type: 'java' }))?.ecosystems, ['Maven']);
  assert.deepEqual(q(pkg({ name: 'rack', version: '2.2.3', type: 'gem' }))?.ecosystems, ['RubyGems']);
  assert.deepEqual(q(pkg({ name: 'http', version: '0.1.19', type: 'cargo' }))?.ecosystems, ['crates.io']);
});
