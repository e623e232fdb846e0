import { Digest } from './digest.js';

/**
 * Repository names and tags, with the grammar of distribution-spec v1.1
 * ("Pulling manifests": <name> and <reference>).
 */

/** path-component(/path-component)*; components are [a-z0-9]+ joined by '.', '_', '__' or '-'+. */
const NAME_GRAMMAR = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_GRAMMAR = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Distribution limits the whole name to 255 characters; hostname + name must fit in 255 too. */
export const MAX_NAME_LENGTH = 255;

export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'repository name is empty';
  if (name.length > MAX_NAME_LENGTH) return `repository name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME_GRAMMAR.test(name)) {
    return 'repository name must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*';
  }
  return undefined;
}

export function isValidName(name: string): boolean {
  return nameProblem(name) === undefined;
}

export function isValidTag(tag: string): boolean {
  return TAG_GRAMMAR.test(tag);
}

/**
 * A full image reference as the CLI takes it: [registry/]name[:tag][@digest].
 * `localhost`, `127.0.0.1` and anything with a port or a dot in the first
 * component are registries, as docker decides.
 */
export interface ImageReference {
  registry: string;
  name: string;
  tag?: string;
  digest?: string;
}

export function parseImageReference(s: string): ImageReference {
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.split('/')[0] ?? '';
  let registry = 'docker.io';
  let name = rest;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    name = rest.slice(first.length + 1);
  }
  const problem = nameProblem(name);
  if (problem) throw new Error(`invalid image reference ${JSON.stringify(s)}: ${problem}`);
  if (tag !== undefined && !isValidTag(tag)) throw new Error(`invalid tag in ${JSON.stringify(s)}`);
  if (digest !== undefined && !Digest.tryParse(digest)) throw new Error(`invalid digest in ${JSON.stringify(s)}`);
  return { registry, name, tag, digest };
}

/** The CLI (like docker) speaks plain HTTP to loopback registries. */
export function isInsecureRegistryHost(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}
