/**
 * A settings document (lifecycle policy, immutability rules, quota, scanning
 * or signing policy) was refused; `field` is the path of the offending value
 * ("" for the whole document). The management API answers POLICY_INVALID with it.
 */
export class PolicyDocumentError extends Error {
  override name = 'PolicyDocumentError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}
