/** A record that is not valid OSV: the import skips it and reports the reason. */
export class OsvRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OsvRecordError';
  }
}

/**
 * The advisory database cannot do what was asked: an unreadable or corrupt
 * input (a bad zip, a path that is neither a JSON file, a folder nor a zip),
 * a limit hit, or a database file that cannot be opened. The database is left
 * as it was before the failed call.
 */
export class AdvisoryDbError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdvisoryDbError';
  }
}

/**
 * Downloading an advisory export failed: the server cannot be reached, answered
 * with an error status, or the transfer was cut. What was received so far is
 * kept for the next attempt to resume; the database is unchanged.
 */
export class AdvisoryDownloadError extends Error {
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdvisoryDownloadError';
  }
}
