import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { javaCataloger, parseManifest } from './java.js';
import { buildZip, fixture, imageFile } from './test-helpers.js';

/*
 * The JARs are Debian's (README.md); what their pom.properties and
 * MANIFEST.MF say was read with Info-ZIP's `unzip -p`. app.war, app.ear and
 * deep.jar were assembled from them with the JDK's `jar` tool.
 */
async function inspect(name: string, path = `/opt/app/${name}`) {
  const file = imageFile(path, fixture(`java/${name}`));
  assert.equal(javaCataloger.select(file.path, file.size, file.mode), 'inspect');
  const packages = await javaCataloger.inspect!(file);
  for (const p of packages) assert.equal(p.type, 'java');
  return packages.map((p) => [p.name, p.version, p.purl, p.path]);
}

describe('java archives', () => {
  test('pom.properties gives group:artifact and version', async () => {
    assert.deepEqual(await inspect('slf4j-nop-1.7.32.jar'), [
      ['org.slf4j:slf4j-nop', '1.7.32', 'pkg:maven/org.slf4j/slf4j-nop@1.7.32', '/opt/app/slf4j-nop-1.7.32.jar'],
    ]);
  });

  test('pom.properties wins over the file name (Debian ships 2.1.1 under a 1.5 name)', async () => {
    assert.deepEqual(await inspect('plexus-component-annotations-1.5.jar'), [
      ['org.codehaus.plexus:plexus-component-annotations', '2.1.1', 'pkg:maven/org.codehaus.plexus/plexus-component-annotations@2.1.1', '/opt/app/plexus-component-annotations-1.5.jar'],
    ]);
  });

  test('without pom.properties: the manifest\'s Bundle-SymbolicName (as group and artifact) and Bundle-Version', async () => {
    assert.deepEqual(await inspect('atinject-jsr330-api-1.0.jar'), [
      ['javax.inject:javax.inject', '1.0.0', 'pkg:maven/javax.inject/javax.inject@1.0.0', '/opt/app/atinject-jsr330-api-1.0.jar'],
    ]);
  });

  test('without pom.properties or manifest fields: the file name, with no group and so a generic purl', async () => {
    assert.deepEqual(await inspect('aopalliance-1.0.jar'), [['aopalliance', '1.0', 'pkg:generic/aopalliance@1.0', '/opt/app/aopalliance-1.0.jar']]);
  });

  test('a WAR: the JARs in WEB-INF/lib (in archive order), with nested paths', async () => {
    assert.deepEqual(await inspect('app.war'), [
      ['aopalliance', '1.0', 'pkg:generic/aopalliance@1.0', '/opt/app/app.war!/WEB-INF/lib/aopalliance-1.0.jar'],
      ['org.slf4j:slf4j-nop', '1.7.32', 'pkg:maven/org.slf4j/slf4j-nop@1.7.32', '/opt/app/app.war!/WEB-INF/lib/slf4j-nop-1.7.32.jar'],
    ]);
  });

  test('an EAR holding a WAR: two levels of nesting', async () => {
    assert.deepEqual(
      (await inspect('app.ear')).map((p) => `${p[0]}@${p[1]} ${p[3]}`),
      [
        'aopalliance@1.0 /opt/app/app.ear!/app.war!/WEB-INF/lib/aopalliance-1.0.jar',
        'org.slf4j:slf4j-nop@1.7.32 /opt/app/app.ear!/app.war!/WEB-INF/lib/slf4j-nop-1.7.32.jar',
        'javax.inject:javax.inject@1.0.0 /opt/app/app.ear!/atinject-jsr330-api-1.0.jar',
      ],
    );
  });

  test('nesting is read three levels deep and no further', async () => {
    // deep.jar > nest1.jar > nest2.jar > {aopalliance-1.0.jar, nest3.jar > slf4j-nop-1.7.32.jar}, plus atinject at level 1.
    assert.deepEqual(
      (await inspect('deep.jar')).map((p) => `${p[0]}@${p[1]}`),
      ['javax.inject:javax.inject@1.0.0', 'aopalliance@1.0'],
    );
  });

  test('manifest continuation lines are joined', () => {
    const m = parseManifest('Manifest-Version: 1.0\r\nImport-Package: org.slf4j;version=1.7.32,or\r\n g.slf4j.helpers\r\n\r\nName: x\r\nA: b\r\n');
    assert.equal(m.get('Import-Package'), 'org.slf4j;version=1.7.32,org.slf4j.helpers');
    assert.equal(m.get('Name'), undefined);
  });

  test('selects .jar, .war and .ear only', () => {
    assert.equal(javaCataloger.select('/a/b.JAR', 10, 0o644), 'inspect');
    assert.equal(javaCataloger.select('/a/b.zip', 10, 0o644), undefined);
  });
});

describe('hostile archives', () => {
  const pom = Buffer.from('groupId=g\nartifactId=a\nversion=1\n');
  const pomName = 'META-INF/maven/g/a/pom.properties';
  const inspectBytes = (bytes: Buffer) => javaCataloger.inspect!(imageFile('/x/bad.jar', bytes));

  test('not a zip, or a truncated one, gives []', async () => {
    const good = buildZip([{ name: pomName, data: pom }]);
    assert.deepEqual(await inspectBytes(Buffer.from('PK\x03\x04 not really')), []);
    assert.deepEqual(await inspectBytes(good.subarray(0, good.length - 10)), []);
    assert.equal((await inspectBytes(good)).length, 1);
  });

  test('an entry that inflates past its declared size is refused (compression bomb)', async () => {
    const bomb = Buffer.alloc(8 * 1024 * 1024, 0x23);
    assert.deepEqual(await inspectBytes(buildZip([{ name: pomName, data: Buffer.concat([pom, bomb]), deflate: true, declaredSize: pom.length }])), []);
  });

  test('metadata declared larger than the limit is not read', async () => {
    assert.deepEqual(await inspectBytes(buildZip([{ name: pomName, data: pom, deflate: true, declaredSize: 2 * 1024 * 1024 }])), []);
  });

  test('a nested archive declared over the byte budget is skipped; the outer archive\'s findings stand', async () => {
    const inner = buildZip([{ name: 'META-INF/maven/i/j/pom.properties', data: Buffer.from('groupId=i\nartifactId=j\nversion=2\n') }]);
    const outer = buildZip([
      { name: pomName, data: pom },
      { name: 'lib/huge.jar', data: inner, deflate: true, declaredSize: 300 * 1024 * 1024 },
      { name: 'lib/ok.jar', data: inner, deflate: true },
      { name: 'lib/broken.jar', data: Buffer.from('not a zip') },
    ]);
    const packages = await inspectBytes(outer);
    assert.deepEqual(packages.map((p) => `${p.name}@${p.version} ${p.path}`), ['g:a@1 /x/bad.jar', 'i:j@2 /x/bad.jar!/lib/ok.jar']);
  });

  test('pom.properties with missing fields is skipped', async () => {
    assert.deepEqual(await inspectBytes(buildZip([{ name: pomName, data: Buffer.from('groupId=g\nversion=1\n') }])), []);
  });
});
