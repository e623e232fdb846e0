import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { TokenService, type VerifiedToken } from './token-service.js';

/*
 * Tokens are checked, and hostile ones built, with node:crypto directly (JWS compact serialization,
 * RFC 7515 section 7.1; ES256 signatures are R || S, RFC 7518 section 3.4), independently of the
 * code under test. Claim names and the access entry shape come from
 * https://distribution.github.io/distribution/spec/auth/jwt/; the kid is checked against RFC 7638's
 * canonical form (section 3.2: members crv, kty, x, y in that order) and against jose's thumbprint.
 */

const T0 = Date.UTC(2025, 0, 1); // 2025-01-01T00:00:00Z
const T0S = T0 / 1000;
const KEY = TokenService.generateKeyPem();
const OTHER_KEY = TokenService.generateKeyPem();
const PUBLIC_PEM = createPublicKey(KEY).export({ type: 'spki', format: 'pem' }).toString();

function service(now: { ms: number }, over: Partial<ConstructorParameters<typeof TokenService>[0]> = {}): TokenService {
  return new TokenService({ issuer: 'berth-auth', service: 'berth', privateKeyPem: KEY, now: () => now.ms, ...over });
}

const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const dec = (part: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(part ?? '', 'base64url').toString());

function es256(header: object, payload: object, pem = KEY): string {
  const input = `${enc(header)}.${enc(payload)}`;
  const sig = sign('sha256', Buffer.from(input), { key: createPrivateKey(pem), dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'berth-auth', sub: 'jlhawn', aud: 'berth', exp: T0S + 300, nbf: T0S, iat: T0S, jti: 'tYJCO1c6cnyy7kAn0c7rKPgbV1H1bFws',
    access: [{ type: 'repository', name: 'samalba/my-app', actions: ['pull', 'push'] }],
    ...over,
  };
}
const HEADER = { typ: 'JWT', alg: 'ES256' };

function refusedWith(r: VerifiedToken, pattern: RegExp): void {
  assert.ok('error' in r, `expected a refusal, got ${JSON.stringify(r)}`);
  assert.match(r.error, pattern);
}

describe('TokenService: issuing', () => {
  test('a token in the spec format: header, claims, kid and an ES256 signature by our key', async () => {
    const s = service({ ms: T0 + 400 });
    const issued = await s.issue('alice', [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    assert.equal(issued.expiresIn, 300);
    assert.equal(issued.issuedAt, '2025-01-01T00:00:00Z');

    const [h, p, sig] = issued.token.split('.');
    const jwk = createPublicKey(KEY).export({ format: 'jwk' });
    const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
    const kid = createHash('sha256').update(canonical).digest('base64url');
    assert.equal(kid, await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) }));
    assert.deepEqual(dec(h), { typ: 'JWT', alg: 'ES256', kid });
    assert.equal(s.keyId, kid);

    const payload = dec(p);
    assert.equal(typeof payload.jti, 'string');
    assert.ok(String(payload.jti).length >= 16);
    delete payload.jti;
    assert.deepEqual(payload, {
      access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
      iss: 'berth-auth', sub: 'alice', aud: 'berth', exp: T0S + 300, nbf: T0S, iat: T0S,
    });
    const signature = Buffer.from(sig ?? '', 'base64url');
    assert.equal(signature.length, 64);
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey(KEY), dsaEncoding: 'ieee-p1363' }, signature));
  });

  test('round trip; every token has its own jti', async () => {
    const s = service({ ms: T0 });
    const access = [
      { type: 'repository' as const, name: 'team/app', actions: ['pull' as const] },
      { type: 'registry' as const, name: 'catalog', actions: ['*' as const] },
    ];
    const a = await s.issue('alice', access);
    const b = await s.issue('alice', access);
    assert.deepEqual(await s.verify(a.token), { subject: 'alice', access });
    assert.notEqual(dec(a.token.split('.')[1]).jti, dec(b.token.split('.')[1]).jti);
    const anonymous = await s.issue('', []);
    assert.deepEqual(await s.verify(anonymous.token), { subject: '', access: [] });
  });

  test('publicJwk carries the kid; the configuration is checked at construction', () => {
    const s = service({ ms: T0 });
    assert.deepEqual(Object.keys(s.publicJwk()).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(s.publicJwk().kid, s.keyId);
    assert.match(KEY, /^-----BEGIN PRIVATE KEY-----\n/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => service({ ms: T0 }, { privateKeyPem: rsa }), /P-256/);
    assert.throws(() => service({ ms: T0 }, { privateKeyPem: p384 }), /P-256/);
    assert.throws(() => service({ ms: T0 }, { privateKeyPem: 'not a key' }));
    assert.throws(() => service({ ms: T0 }, { ttlSeconds: 59 }), RangeError);
  });
});

describe('TokenService: verifying', () => {
  test('a token built by hand per the spec with our key is accepted (interoperability)', async () => {
    const r = await service({ ms: T0 + 1000 }).verify(es256({ ...HEADER, kid: 'PYYO:TEWU:V7JH' }, claims()));
    assert.deepEqual(r, { subject: 'jlhawn', access: [{ type: 'repository', name: 'samalba/my-app', actions: ['pull', 'push'] }] });
  });

  test('a token signed by another key is refused', async () => {
    const other = service({ ms: T0 }, { privateKeyPem: OTHER_KEY });
    const { token } = await other.issue('alice', [{ type: 'repository', name: 'team/app', actions: ['push'] }]);
    refusedWith(await service({ ms: T0 }).verify(token), /signature/);
    refusedWith(await service({ ms: T0 }).verify(es256(HEADER, claims(), OTHER_KEY)), /signature/);
  });

  test('alg "none" is refused, with or without a signature', async () => {
    const s = service({ ms: T0 });
    const unsigned = `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims())}.`;
    refusedWith(await s.verify(unsigned), /algorithm/);
    const good = es256(HEADER, claims());
    refusedWith(await s.verify(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims())}.${good.split('.')[2]}`), /algorithm/);
    refusedWith(await s.verify(`${enc({ alg: 'none' })}.${enc(claims())}`), /malformed/);
  });

  test('HS256 keyed with our public key (PEM, JWK or DER) is refused', async () => {
    const s = service({ ms: T0 });
    const der = createPublicKey(KEY).export({ type: 'spki', format: 'der' });
    const jwkText = JSON.stringify(createPublicKey(KEY).export({ format: 'jwk' }));
    for (const secret of [PUBLIC_PEM, jwkText, der]) {
      const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims())}`;
      const mac = createHmac('sha256', secret).update(input).digest('base64url');
      refusedWith(await s.verify(`${input}.${mac}`), /algorithm/);
    }
  });

  test('RS256, ES384 and a DER-encoded ES256 signature are refused', async () => {
    const s = service({ ms: T0 });
    const input = (alg: string): string => `${enc({ alg, typ: 'JWT', kid: s.keyId })}.${enc(claims())}`;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const rs = sign('sha256', Buffer.from(input('RS256')), rsa).toString('base64url');
    refusedWith(await s.verify(`${input('RS256')}.${rs}`), /algorithm/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const es384 = sign('sha384', Buffer.from(input('ES384')), { key: p384, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    refusedWith(await s.verify(`${input('ES384')}.${es384}`), /algorithm/);
    // A valid ECDSA signature by our key, but ASN.1 DER instead of R || S (RFC 7518 section 3.4).
    const derSig = sign('sha256', Buffer.from(input('ES256')), createPrivateKey(KEY)).toString('base64url');
    refusedWith(await s.verify(`${input('ES256')}.${derSig}`), /signature/);
  });

  test('expiry and not-before, with 30 seconds of leeway', async () => {
    const now = { ms: T0 };
    const s = service(now);
    const { token } = await s.issue('alice', []);
    now.ms = T0 + (300 + 29) * 1000; // exp + 29 s
    assert.deepEqual(await s.verify(token), { subject: 'alice', access: [] });
    now.ms = T0 + (300 + 30) * 1000; // exp + 30 s: "MUST NOT be accepted" (RFC 7519 4.1.4) even with the leeway
    refusedWith(await s.verify(token), /expired/);
    now.ms = T0 + 3600 * 1000;
    refusedWith(await s.verify(token), /expired/);
    now.ms = T0 - 30 * 1000; // nbf - 30 s
    assert.ok('subject' in (await s.verify(token)));
    now.ms = T0 - 31 * 1000;
    refusedWith(await s.verify(token), /not yet valid/);
  });

  test('wrong audience or issuer is refused', async () => {
    const now = { ms: T0 };
    const { token } = await service(now).issue('alice', []);
    refusedWith(await service(now, { service: 'other-registry' }).verify(token), /"aud"/);
    refusedWith(await service(now, { issuer: 'someone-else' }).verify(token), /"iss"/);
    refusedWith(await service(now).verify(es256(HEADER, claims({ aud: ['other', 'x'] }))), /"aud"/);
  });

  test('a tampered payload is refused', async () => {
    const s = service({ ms: T0 });
    const { token } = await s.issue('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const [h, p, sig] = token.split('.');
    const payload = dec(p);
    payload.access = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }];
    refusedWith(await s.verify(`${h}.${enc(payload)}.${sig}`), /signature/);
    payload.access = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];
    payload.sub = 'admin';
    refusedWith(await s.verify(`${h}.${enc(payload)}.${sig}`), /signature/);
  });

  test('access claim shapes', async () => {
    const s = service({ ms: T0 });
    const shape = (access: unknown): Promise<VerifiedToken> => s.verify(es256(HEADER, claims({ access })));
    assert.deepEqual(await shape([]), { subject: 'jlhawn', access: [] });
    assert.deepEqual(await shape([{ type: 'registry', name: 'catalog', actions: ['*'] }]), {
      subject: 'jlhawn',
      access: [{ type: 'registry', name: 'catalog', actions: ['*'] }],
    });
    // Unknown extra members are dropped, the entry is kept.
    assert.deepEqual(await shape([{ type: 'repository', name: 'a/b', actions: ['delete'], class: 'image' }]), {
      subject: 'jlhawn',
      access: [{ type: 'repository', name: 'a/b', actions: ['delete'] }],
    });
    const bad: unknown[] = [
      undefined, null, {}, 'repository:a/b:pull', [null], [[]], [{ name: 'a/b', actions: ['pull'] }],
      [{ type: 'namespace', name: 'a', actions: ['pull'] }],
      [{ type: 'repository', name: 'team/../other', actions: ['push'] }],
      [{ type: 'repository', name: 'localhost:5000/a', actions: ['pull'] }],
      [{ type: 'repository', name: 'a/b', actions: 'pull' }],
      [{ type: 'repository', name: 'a/b', actions: ['pull', 'fly'] }],
      [{ type: 'repository', name: 'a/b', actions: ['pull', 'pull'] }],
      [{ type: 'repository', name: 'a/b', actions: [1] }],
      [{ type: 'registry', name: 'users', actions: ['*'] }],
      Array.from({ length: 257 }, () => ({ type: 'repository', name: 'a/b', actions: ['pull'] })),
    ];
    for (const access of bad) refusedWith(await shape(access), /access claim/);
    refusedWith(await s.verify(es256(HEADER, claims({ access: undefined }))), /access claim/);
  });

  test('required claims: iss, sub, aud, exp, nbf, iat, jti', async () => {
    const s = service({ ms: T0 });
    for (const claim of ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']) {
      refusedWith(await s.verify(es256(HEADER, claims({ [claim]: undefined }))), new RegExp(`"${claim}" missing`));
    }
    refusedWith(await s.verify(es256(HEADER, claims({ sub: 42 }))), /wrong types/);
    refusedWith(await s.verify(es256(HEADER, claims({ exp: '9999999999' }))), /"exp"/);
    refusedWith(await s.verify(es256({ alg: 'ES256' }, claims())), /not an access token/);
  });

  test('hostile input never throws', async () => {
    const s = service({ ms: T0 });
    const good = es256(HEADER, claims());
    const inputs: unknown[] = [
      '', '.', '..', '...', 'a.b.c', 'a.b', good + '.x', good.replace('.', '..'), `${enc('x')}.${enc('y')}.`,
      `${enc([1])}.${enc(claims())}.${good.split('.')[2]}`, `${enc(HEADER)}.${enc([claims()])}.${good.split('.')[2]}`,
      `${Buffer.from('{"alg":"ES256"').toString('base64url')}.${enc(claims())}.x`,
      `${enc({ ...HEADER, crit: ['exp'] })}.${enc(claims())}.${good.split('.')[2]}`,
      `${enc({ ...HEADER, b64: false, crit: ['b64'] })}.${enc(claims())}.${good.split('.')[2]}`,
      'x'.repeat(70 * 1024), '\u0000.\u0000.\u0000', null, undefined, 42, {},
    ];
    for (const input of inputs) {
      const r = await s.verify(input as string);
      assert.ok('error' in r, `accepted ${String(input).slice(0, 60)}`);
    }
  });
});

describe('TokenService: refresh tokens', () => {
  test('round trip, and access and refresh tokens are never taken for each other', async () => {
    const now = { ms: T0 };
    const s = service(now);
    const refresh = await s.issueRefresh('alice');
    assert.deepEqual(await s.verifyRefresh(refresh), { subject: 'alice', issuedAt: T0 });
    assert.equal(dec(refresh.split('.')[0]).typ, 'berth-refresh+jwt');
    refusedWith(await s.verify(refresh), /not an access token/);
    const { token } = await s.issue('alice', [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    const r = await s.verifyRefresh(token);
    assert.ok('error' in r && /not a refresh token/.test(r.error));
    // A refresh-typed token that carries an access claim is not one of ours either.
    const hybrid = await s.verifyRefresh(es256({ typ: 'berth-refresh+jwt', alg: 'ES256' }, claims()));
    assert.ok('error' in hybrid && /not a refresh token/.test(hybrid.error));
  });

  test('refresh tokens last 30 days by default, or as configured; another key is refused', async () => {
    const now = { ms: T0 };
    const refresh = await service(now).issueRefresh('alice');
    now.ms = T0 + (30 * 86400 - 1) * 1000;
    assert.ok('subject' in (await service(now).verifyRefresh(refresh)));
    now.ms = T0 + (30 * 86400 + 30) * 1000;
    assert.ok('error' in (await service(now).verifyRefresh(refresh)));
    now.ms = T0;
    const short = await service(now, { refreshTtlSeconds: 3600 }).issueRefresh('bob');
    now.ms = T0 + (3600 + 30) * 1000;
    assert.ok('error' in (await service(now).verifyRefresh(short)));
    now.ms = T0;
    const foreign = await service(now, { privateKeyPem: OTHER_KEY }).issueRefresh('alice');
    assert.ok('error' in (await service(now).verifyRefresh(foreign)));
  });
});
