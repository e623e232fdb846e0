/*
 * in-toto statements as cosign writes them (in-toto/attestation spec/v1/statement.md), and the
 * checks cosign makes on them before trusting one for an image.
 *
 *  - `cosign attest --type T` builds an in-toto v1 Statement with one subject {name: the repository,
 *    digest: {sha256: hex}} (pkg/cosign/attestation/attestation.go, generateStatementHeader) and the
 *    predicate type from cmd/cosign/cli/options/predicate.go PredicateTypeMap (below) or T itself
 *    when T is a URI. Older cosign wrote "https://in-toto.io/Statement/v0.1"; both are read.
 *  - `cosign sign` (cosign 3, bundle format) signs a statement with predicateType
 *    "https://sigstore.dev/cosign/sign/v1", an empty predicate and one subject without a name
 *    whose annotations are the `-a` claims (cmd/cosign/cli/sign/sign.go signDigestBundle).
 *  Both are protojson.Marshal of the Statement message: fields in .proto order
 *  (_type, subject, predicateType, predicate; ResourceDescriptor: name, digest, annotations).
 */
import { Digest } from '../../oci/digest.js';
import { CosignFormatError } from './errors.js';
import { goMapsOf, GoMap, protoJson, type GoValue } from './go-json.js';

export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_TYPE_V01 = 'https://in-toto.io/Statement/v0.1';
/** predicateType of the statement `cosign sign` signs in the bundle format. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
/** cosign's `custom` predicate type (the default of `cosign attest --type`). */
export const COSIGN_CUSTOM_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/v1';

/** cosign's `--type` names and the predicate type URIs they stand for. */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  custom: COSIGN_CUSTOM_PREDICATE_TYPE,
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  cyclonedxxml: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

/** Parsed statement as cosign prints it (`cosign verify-attestation` decodes the payload). */
export interface InTotoStatement {
  _type: string;
  subject: { name?: string; digest: Record<string, string>; annotations?: Record<string, unknown> }[];
  predicateType: string;
  predicate?: unknown;
}

/**
 * The predicate type URI for a cosign `--type` value: a known name, or an absolute URI used as
 * is. Throws CosignFormatError otherwise (cosign: "invalid predicate type").
 */
export function resolvePredicateType(type: string): string {
  const known = PREDICATE_TYPES[type];
  if (known) return known;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/.test(type)) return type;
  throw new CosignFormatError(`invalid predicate type: ${JSON.stringify(type.slice(0, 100))}`);
}

/** cosign's `custom` predicate: the raw predicate text with the signing time (RFC 3339, seconds). */
export function customPredicate(text: string, now: Date): Record<string, string> {
  return { Data: text, Timestamp: rfc3339Seconds(now) };
}

export interface StatementInput {
  /** Predicate type URI (see resolvePredicateType). */
  predicateType: string;
  /** The predicate: a JSON object (protobuf Struct). */
  predicate: Readonly<Record<string, unknown>>;
  /** Subject name; cosign uses the repository ("registry.example.com/team/app"). Omitted when undefined. */
  subjectName?: string;
  /** The image manifest digest the statement is about. */
  digest: string;
  /** Subject annotations (cosign 3 sign's `-a` claims); written only when given. */
  subjectAnnotations?: Readonly<Record<string, unknown>>;
}

/** Statement bytes (in-toto v1, protojson order). Throws CosignFormatError for a bad digest or predicate. */
export function inTotoStatement(input: StatementInput): Buffer {
  const digest = Digest.tryParse(input.digest);
  if (!digest) throw new CosignFormatError(`not a digest: ${JSON.stringify(input.digest.slice(0, 80))}`);
  if (typeof input.predicate !== 'object' || input.predicate === null || Array.isArray(input.predicate)) {
    throw new CosignFormatError('the predicate must be a JSON object');
  }
  return protoJson({
    _type: STATEMENT_TYPE_V1,
    subject: [
      {
        name: input.subjectName,
        digest: GoMap.of({ [digest.algorithm]: digest.hex }),
        annotations: input.subjectAnnotations === undefined ? undefined : (goMapsOf(input.subjectAnnotations) as GoValue),
      },
    ],
    predicateType: input.predicateType,
    predicate: goMapsOf(input.predicate),
  });
}

/** The statement `cosign sign` signs in the bundle format (empty predicate, no subject name). */
export function cosignSignStatement(digest: string, annotations: Readonly<Record<string, unknown>> = {}): Buffer {
  return inTotoStatement({ predicateType: COSIGN_SIGN_PREDICATE_TYPE, predicate: {}, digest, subjectAnnotations: annotations });
}

/**
 * Parses statement bytes and checks what cosign checks before trusting it for an image: an in-toto
 * statement type, a subject whose digest equals `imageDigest`, and (when given) the predicate
 * type, by URI or cosign `--type` name. Throws StatementMismatch for a well-formed statement about
 * something else, CosignFormatError for a malformed one.
 */
export function checkStatement(bytes: Uint8Array, imageDigest: string, predicateType?: string): InTotoStatement {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CosignFormatError('statement is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CosignFormatError('statement must be a JSON object');
  const s = doc as Record<string, unknown>;
  if (s._type !== STATEMENT_TYPE_V1 && s._type !== STATEMENT_TYPE_V01) throw new CosignFormatError(`not an in-toto statement: _type ${JSON.stringify(s._type)}`);
  if (typeof s.predicateType !== 'string') throw new CosignFormatError('statement predicateType must be a string');
  if (!Array.isArray(s.subject) || s.subject.length === 0) throw new CosignFormatError('statement has no subject');
  const wanted = Digest.tryParse(imageDigest);
  if (!wanted) throw new CosignFormatError(`not an image digest: ${JSON.stringify(imageDigest.slice(0, 80))}`);
  const matches = s.subject.some((sub: unknown) => {
    const d = typeof sub === 'object' && sub !== null ? (sub as Record<string, unknown>).digest : undefined;
    return typeof d === 'object' && d !== null && (d as Record<string, unknown>)[wanted.algorithm] === wanted.hex;
  });
  if (!matches) throw new StatementMismatch('digest-mismatch', `no statement subject has the digest ${wanted.toString()}`);
  if (predicateType !== undefined) {
    const uri = PREDICATE_TYPES[predicateType] ?? predicateType;
    if (s.predicateType !== uri) throw new StatementMismatch('predicate-type-mismatch', `predicate type is ${s.predicateType}, expected ${uri}`);
  }
  return s as unknown as InTotoStatement;
}

/** A well-formed statement that is not about the expected image or predicate. */
export class StatementMismatch extends Error {
  constructor(
    readonly reason: 'digest-mismatch' | 'predicate-type-mismatch',
    message: string,
  ) {
    super(message);
  }
}

/** Go's time.RFC3339 for a UTC time: seconds precision, "Z". */
export function rfc3339Seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
