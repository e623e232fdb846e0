/** Errors of the Cosign formats. Each names what was wrong; none carries secret material. */

/** A key file or key object cosign would not accept (format, type, curve, size). */
export class CosignKeyError extends Error {}

/** The password does not open the encrypted private key (or the ciphertext was altered). */
export class WrongPasswordError extends CosignKeyError {}

/** A payload, envelope, statement, bundle or manifest that is not what cosign writes. */
export class CosignFormatError extends Error {}
