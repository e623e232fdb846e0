/*
 * Docker token scopes: what a client asks the token endpoint for, and what an access token grants.
 *
 * Grammar (https://distribution.github.io/distribution/spec/auth/scope/, "Resource Scope Grammar"):
 *   scope          := resourcescope [ ' ' resourcescope ]*
 *   resourcescope  := resourcetype ":" resourcename ":" action [ ',' action ]*
 *   resourcetype   := resourcetypevalue [ '(' resourcetypevalue ')' ]     resourcetypevalue := /[a-z0-9]+/
 *   resourcename   := [ hostname '/' ] component [ '/' component ]*
 *   hostname       := hostcomponent ['.' hostcomponent]* [':' port-number]
 *   action         := [a-z*]*   (a regular expression, as are the other /.../ above)
 * The spec warns that "the resourcename may contain one ':' due to a possible port number in the
 * hostname component", so the type ends at the first ':' and the actions start after the last one.
 *
 * berth repository names follow the distribution-spec name grammar (nameProblem), which has no host
 * part: a name with a host:port prefix is parsed per the grammar and then refused, as is any name that
 * fails the grammar (`team/../other`). A hostname without a port is just a first component with dots
 * and is a valid berth name. The resource class (`repository(plugin)`) "is deprecated and ignored.
 * `repository` and `repository(plugin)` are considered equal", so it is kept only for the record.
 * Actions that fit the grammar but mean nothing here are dropped, not refused: a token grants the
 * intersection of what was asked and what is allowed, and asking for too much is not an error
 * (https://distribution.github.io/distribution/spec/auth/jwt/, "Getting a Bearer Token").
 */

import { nameProblem } from '../oci/reference.js';

/** `*` asks for every action (for repositories) and is the only action of `registry:catalog`. */
export type Action = 'pull' | 'push' | 'delete' | '*';
/** Canonical order; scopes and access entries list their actions in it. */
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete', '*'];

export type ResourceType = 'repository' | 'registry';

/** One entry of a token's `access` claim (https://distribution.github.io/distribution/spec/auth/jwt/). */
export interface Access {
  type: ResourceType;
  name: string;
  actions: Action[];
}

/** A parsed resource scope; `resourceClass` is the deprecated `(class)` suffix, when there was one. */
export interface Scope extends Access {
  resourceClass?: string;
}

export interface ScopeError {
  /** The scope as received. */
  scope: string;
  error: string;
}

/** The only `registry` resource berth knows: `registry:catalog:*` (the catalog endpoint). */
export const CATALOG_NAME = 'catalog';
/** Type, a 255-character name and every action fit well within this. */
export const MAX_SCOPE_LENGTH = 512;
/** Real clients ask for one to three; each granted scope makes the token (an HTTP header) longer. */
export const MAX_SCOPES = 16;

const RESOURCE_TYPE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const ACTION = /^[a-z*]*$/;
const HOST_COMPONENT = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const HOST_WITH_PORT = new RegExp(`^${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*:[0-9]+$`);

export function isScopeError(x: Scope | ScopeError): x is ScopeError {
  return 'error' in x;
}

export function parseScope(s: string): Scope | ScopeError {
  const fail = (error: string): ScopeError => ({ scope: s, error });
  if (typeof s !== 'string') return { scope: String(s), error: 'scope is not a string' };
  if (s.length > MAX_SCOPE_LENGTH) return fail(`scope is longer than ${MAX_SCOPE_LENGTH} characters`);
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return fail('scope must be <type>:<name>:<actions>');

  const typeMatch = RESOURCE_TYPE.exec(s.slice(0, first));
  if (!typeMatch) return fail('resource type must be [a-z0-9]+ with an optional (class)');
  const type = typeMatch[1];
  const resourceClass = typeMatch[2];

  const actions = parseActions(s.slice(last + 1));
  if (actions === undefined) return fail('actions must be a comma-separated list of [a-z*]*');

  const name = s.slice(first + 1, last);
  if (type === 'registry') {
    if (name !== CATALOG_NAME) return fail(`unknown registry resource ${JSON.stringify(name)} (only "catalog")`);
    return withClass({ type: 'registry', name, actions }, resourceClass);
  }
  if (type !== 'repository') return fail(`unsupported resource type ${JSON.stringify(type)}`);
  const problem = repositoryNameProblem(name);
  if (problem) return fail(problem);
  return withClass({ type: 'repository', name, actions }, resourceClass);
}

/**
 * Scopes from several `scope` query parameters (GET /token) or one space-separated `scope` field
 * (POST /token); both forms may be mixed. Scopes naming the same resource are merged (the union of
 * their actions), so `repository:a:pull` and `repository:a:push` become `repository:a:pull,push`.
 */
export function parseScopes(list: readonly string[]): { scopes: Scope[]; errors: ScopeError[] } {
  const byResource = new Map<string, Scope>();
  const errors: ScopeError[] = [];
  for (const param of list) {
    for (const s of String(param).split(' ')) {
      if (s === '') continue;
      const parsed = parseScope(s);
      if (isScopeError(parsed)) {
        errors.push(parsed);
        continue;
      }
      const key = `${parsed.type}:${parsed.name}`;
      const seen = byResource.get(key);
      if (seen) {
        seen.actions = canonicalActions([...seen.actions, ...parsed.actions]);
      } else if (byResource.size >= MAX_SCOPES) {
        errors.push({ scope: s, error: `more than ${MAX_SCOPES} resources in one request` });
      } else {
        byResource.set(key, parsed);
      }
    }
  }
  return { scopes: [...byResource.values()], errors };
}

/** `repository:team/app:pull,push`, as a WWW-Authenticate challenge or a token request writes it. */
export function formatScope(access: Access): string {
  return `${access.type}:${access.name}:${canonicalActions(access.actions).join(',')}`;
}

/** Known actions of the list, once each, in canonical order; anything else is left out. */
export function canonicalActions(actions: readonly string[]): Action[] {
  return ACTIONS.filter((a) => actions.includes(a));
}

function parseActions(s: string): Action[] | undefined {
  const parts = s.split(',');
  if (!parts.every((a) => ACTION.test(a))) return undefined;
  return canonicalActions(parts);
}

function repositoryNameProblem(name: string): string | undefined {
  const colon = name.indexOf(':');
  if (colon >= 0) {
    // Per the grammar a ':' may only be the port of a leading hostname: "host:port/component...".
    const slash = name.indexOf('/');
    const host = slash < 0 ? name : name.slice(0, slash);
    if (slash < 0 || name.indexOf(':', colon + 1) >= 0 || !HOST_WITH_PORT.test(host)) {
      return 'repository name may contain ":" only as the port of a leading hostname';
    }
    return `repository name ${JSON.stringify(name)} names another registry (${host}); berth repository names have no host part`;
  }
  return nameProblem(name);
}

function withClass(scope: Scope, resourceClass: string | undefined): Scope {
  return resourceClass === undefined ? scope : { ...scope, resourceClass };
}
