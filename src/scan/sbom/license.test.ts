import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { schemaJson } from '../report/test-helpers.js';
import { asOperand, classifyLicense, MAX_EXPRESSION_LENGTH } from './license.js';
import { SPDX_EXCEPTION_IDS, SPDX_LICENSE_IDS } from './spdx-license-list.js';

/*
 * Expected values: the expressions are the examples of SPDX 2.3 Annex D
 * (D.4 "Composite license expressions"), the identifiers those of the SPDX
 * License List 3.29.0 as CycloneDX's spdx.schema.json carries it.
 */

describe('SPDX license list', () => {
  test('is exactly the enumeration of CycloneDX spdx.schema.json (licenses, then exceptions)', () => {
    const schema = schemaJson('spdx.schema.json');
    assert.equal(schema['$comment'], 'v1.1-3.29.0');
    assert.deepEqual([...SPDX_LICENSE_IDS, ...SPDX_EXCEPTION_IDS], schema['enum']);
    assert.ok(SPDX_EXCEPTION_IDS.includes('Classpath-exception-2.0'));
    assert.ok(!SPDX_LICENSE_IDS.includes('Classpath-exception-2.0'));
  });
});

describe('classifyLicense', () => {
  test('a listed identifier, matched without regard to case and written in the list\'s case', () => {
    assert.deepEqual(classifyLicense('MIT'), { kind: 'id', id: 'MIT' });
    assert.deepEqual(classifyLicense('mit'), { kind: 'id', id: 'MIT' });
    assert.deepEqual(classifyLicense(' bsd-3-clause '), { kind: 'id', id: 'BSD-3-Clause' });
    // Deprecated identifiers stay on the list, "+" included.
    assert.deepEqual(classifyLicense('GPL-2.0+'), { kind: 'id', id: 'GPL-2.0+' });
  });

  test('the composite expressions of SPDX 2.3 Annex D', () => {
    for (const e of [
      'LGPL-2.1-only OR MIT',
      'LGPL-2.1-only OR BSD-3-Clause AND MIT',
      'GPL-2.0-or-later WITH Bison-exception-2.2',
      'LGPL-2.1-only AND MIT AND BSD-2-Clause',
      'MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)',
      'Apache-2.0+',
      'LicenseRef-23',
      'DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2',
    ]) {
      assert.deepEqual(classifyLicense(e), { kind: 'expression', expression: e }, e);
    }
  });

  test('rewrites an expression in canonical form', () => {
    assert.deepEqual(classifyLicense('( mit  OR apache-2.0 )'), { kind: 'expression', expression: '(MIT OR Apache-2.0)' });
    assert.deepEqual(classifyLicense('gpl-2.0-only WITH classpath-exception-2.0'), {
      kind: 'expression',
      expression: 'GPL-2.0-only WITH Classpath-exception-2.0',
    });
  });

  test('anything else is unknown and kept as declared', () => {
    for (const raw of [
      'GPL-2+', // Debian's short name: "GPL-2" is not on the list
      'Apache License, Version 2.0',
      'Expat',
      'MIT and Apache-2.0', // operators are case-sensitive
      'MIT OR',
      'OR MIT',
      '(MIT',
      'MIT)',
      'MIT WITH MIT', // WITH takes an exception
      'Classpath-exception-2.0', // an exception alone is not a license
      '(MIT OR Apache-2.0) WITH Classpath-exception-2.0', // WITH applies to a simple expression
      'LicenseRef-',
      '',
      '   ',
    ]) {
      assert.deepEqual(classifyLicense(raw), { kind: 'unknown', text: raw }, raw);
    }
  });

  test('hostile input is bounded: long strings and deep nesting are unknown, not a crash', () => {
    const long = 'MIT OR '.repeat(MAX_EXPRESSION_LENGTH) + 'MIT';
    assert.equal(classifyLicense(long).kind, 'unknown');
    const deep = '('.repeat(100) + 'MIT' + ')'.repeat(100);
    assert.equal(classifyLicense(deep).kind, 'unknown');
    assert.deepEqual(classifyLicense('('.repeat(10) + 'MIT' + ')'.repeat(10)).kind, 'expression');
  });
});

describe('asOperand', () => {
  test('parenthesises an expression with operators unless it already is', () => {
    assert.equal(asOperand('MIT'), 'MIT');
    assert.equal(asOperand('MIT OR Apache-2.0'), '(MIT OR Apache-2.0)');
    assert.equal(asOperand('(MIT OR Apache-2.0)'), '(MIT OR Apache-2.0)');
    assert.equal(asOperand('(MIT) AND (BSD-2-Clause)'), '((MIT) AND (BSD-2-Clause))');
  });
});
