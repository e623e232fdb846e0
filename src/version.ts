/** berth's version (package.json), as tools and reports name it. */
export const BERTH_VERSION = '0.1.0';
