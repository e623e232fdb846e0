/**
 * The advisory side of the scanner: an on-disk OSV database (import, update,
 * status) and the matcher that turns installed packages into findings.
 */
export { AdvisoryDb, DEFAULT_OSV_BASE_URL } from './advisory-db.js';
export type { AdvisoryDbStatus, AdvisoryLookup, CandidateRecord, ImportSummary, UpdateProgress, UpdateSummary } from './advisory-db.js';
export { AdvisoryDbError, AdvisoryDownloadError, OsvRecordError } from './errors.js';
export { matchPackages } from './matcher.js';
export type { MatchOptions } from './matcher.js';
export { advisoryQuery } from './ecosystem.js';
export type { AdvisoryQuery } from './ecosystem.js';
