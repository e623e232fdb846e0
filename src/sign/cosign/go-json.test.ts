import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CosignFormatError } from './errors.js';
import { goJson, goMapsOf, GoMap, protoJson } from './go-json.js';

/*
 * Expected text follows the encoding/json package documentation (Go 1.22+):
 *  - "the string is encoded using HTMLEscape, which replaces "<", ">", "&", U+2028, and U+2029 are
 *    escaped to "\u003c","\u003e", "\u0026", "\u2028", and "\u2029"";
 *  - "The map keys are sorted";
 *  - Go 1.22 release notes: "\b" and "\f" are written as \b and \f.
 * Byte compatibility with real cosign output is tested where real outputs exist (simple signing
 * payloads, DSSE envelopes, signature manifests: see the other tests).
 */
describe('goJson', () => {
  test('struct fields keep their order, undefined fields are omitted, maps are sorted', () => {
    const out = goJson({ b: 1, a: undefined, m: new GoMap([['z', 1], ['a', 2], ['B', 3]]), list: [true, null] });
    assert.equal(out.toString(), '{"b":1,"m":{"B":3,"a":2,"z":1},"list":[true,null]}');
  });

  test('map keys sort by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    const out = goJson(new GoMap([['\u{1F600}', 1], ['\uFF61', 2]])).toString();
    assert.equal(out, '{"\uFF61":2,"\u{1F600}":1}');
  });

  test('HTML characters, U+2028/2029 and control characters are escaped as encoding/json does', () => {
    assert.equal(goJson('<a&b>\u2028\u2029').toString(), '"\\u003ca\\u0026b\\u003e\\u2028\\u2029"');
    assert.equal(goJson('"\\\b\f\n\r\t\u0001\u001f').toString(), '"\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f"');
    assert.equal(goJson('\ud800').toString(), '"\\ufffd"');
  });

  test('protojson does not escape HTML characters', () => {
    assert.equal(protoJson({ s: '<&>' }).toString(), '{"s":"<&>"}');
  });

  test('numbers use the same shortest form as Go floats, -0 included', () => {
    assert.equal(goJson([1458239713, 8.314, 1e21, 1e-7, 0.000001, -0]).toString(), '[1458239713,8.314,1e+21,1e-7,0.000001,-0]');
    assert.throws(() => goJson(Number.NaN), CosignFormatError);
  });

  test('goMapsOf turns parsed JSON objects into maps and bounds nesting', () => {
    assert.equal(goJson(goMapsOf(JSON.parse('{"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]}'))).toString(), '{"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}}');
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    assert.throws(() => goMapsOf(deep), CosignFormatError);
  });
});
