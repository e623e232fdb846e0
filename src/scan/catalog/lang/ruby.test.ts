import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rubyCataloger } from './ruby.js';
import { fixture, imageFile, memTree, warnings } from './test-helpers.js';
import type { ImageFile } from '../../types.js';

/*
 * Expected names, versions and licenses are what RubyGems 3.3
 * (`Gem::Specification.load`, Ruby 3.1.2) read from the same files
 * (ruby/expected-rubygems.txt).
 */
const GEMS = '/usr/local/bundle/specifications';

async function run(files: ImageFile[]) {
  const w = warnings();
  const packages = await rubyCataloger.catalog!(memTree(files), undefined, w.warn);
  return { packages, messages: w.messages };
}

describe('ruby cataloger', () => {
  test('selects installed specifications, default gems included', () => {
    assert.equal(rubyCataloger.select(`${GEMS}/rake-13.0.6.gemspec`, 100, 0o644), 'keep');
    assert.equal(rubyCataloger.select('/usr/lib/ruby/gems/3.1.0/specifications/default/stringio-3.0.1.2.gemspec', 100, 0o644), 'keep');
    assert.equal(rubyCataloger.select('/src/app/myapp.gemspec', 100, 0o644), undefined);
  });

  test('installed gemspecs written by RubyGems', async () => {
    const { packages, messages } = await run([
      imageFile(`${GEMS}/rake-13.0.6.gemspec`, fixture('ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec')),
      imageFile(`${GEMS}/default/stringio-3.0.1.2.gemspec`, fixture('ruby/gems/3.1.0/specifications/default/stringio-3.0.1.2.gemspec')),
      imageFile(`${GEMS}/webrick-1.8.1.gemspec`, fixture('ruby/rubygems-integration/all/specifications/webrick-1.8.1.gemspec')),
      imageFile(`${GEMS}/test-unit-3.3.7.gemspec`, fixture('ruby/trivy/multiple_licenses.gemspec')),
      imageFile(`${GEMS}/async-1.25.0.gemspec`, fixture('ruby/trivy/normal01.gemspec')),
    ]);
    assert.deepEqual(messages, []);
    assert.deepEqual(
      packages.map((p) => [p.name, p.version, p.purl, p.licenses ?? []]),
      [
        ['async', '1.25.0', 'pkg:gem/async@1.25.0', ['MIT']],
        ['stringio', '3.0.1.2', 'pkg:gem/stringio@3.0.1.2', ['Ruby', 'BSD-2-Clause']],
        ['rake', '13.0.6', 'pkg:gem/rake@13.0.6', ['MIT']],
        ['test-unit', '3.3.7', 'pkg:gem/test-unit@3.3.7', ['Ruby', 'BSDL', 'PSFL']],
        ['webrick', '1.8.1', 'pkg:gem/webrick@1.8.1', ['Ruby', 'BSD-2-Clause']],
      ],
    );
    assert.ok(packages.every((p) => p.type === 'gem' && p.path.startsWith(GEMS)));
  });

  test('the Gem::Version.new and %q forms', async () => {
    // Forms of hand-written specifications (`s.version = Gem::Version.new('0.1.2')` is from the powncer gem's gemspec).
    const text = "Gem::Specification.new do |s| \n  s.name = %q{powncer}\n  s.version = Gem::Version.new('0.1.2')\n  s.license = 'MIT'\nend\n";
    const { packages } = await run([imageFile(`${GEMS}/powncer-0.1.2.gemspec`, text)]);
    assert.deepEqual(packages.map((p) => [p.name, p.version, p.licenses]), [['powncer', '0.1.2', ['MIT']]]);
  });

  test('specifications RubyGems cannot load give a warning naming the file', async () => {
    // malformed00 assigns to `s` inside a `|spec|` block (RubyGems: undefined local variable); malformed01 has no version.
    const { packages, messages } = await run([
      imageFile(`${GEMS}/a.gemspec`, fixture('ruby/trivy/malformed00.gemspec')),
      imageFile(`${GEMS}/b.gemspec`, fixture('ruby/trivy/malformed01.gemspec')),
      imageFile(`${GEMS}/c.gemspec`, 'puts "hello"\n'),
    ]);
    assert.deepEqual(packages, []);
    assert.deepEqual(messages, [
      `${GEMS}/a.gemspec: no spec.name or spec.version string`,
      `${GEMS}/b.gemspec: no s.name or s.version string`,
      `${GEMS}/c.gemspec: no Gem::Specification.new do |spec| block`,
    ]);
  });

  test('a long hostile line is read in linear time (bounded: a quadratic path would run past the timeout)', { timeout: 30_000 }, async () => {
    const text = `Gem::Specification.new do |s|\n  s.name = "x"\n  s.version = "1"\n  s.licenses = [${'"a\\'.repeat(200_000)}\nend\n`;
    const { packages } = await run([imageFile(`${GEMS}/x-1.gemspec`, text)]);
    assert.equal(packages.length, 1);
  });
});
