/*
 * Trust stores (specs/trust-store-trust-policy.md "Trust Store"): named collections of trusted
 * certificates by type, laid out as notation does:
 *   <trust store dir>/x509/{ca|signingAuthority|tsa}/<name>/<file>.{pem,crt,cer}
 * Files hold one or more PEM or DER certificates. Symlinks are refused (the spec's MUST); sub
 * directories of a named store and files with other extensions are ignored, as the spec says.
 * Like notation-go's truststore package, certificates of ca and signingAuthority stores must be CA
 * certificates or self-signed, and tsa certificates must be self-signed root CA certificates.
 * A problem with one named store is reported when that store is used, so it cannot break the others.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustStoreError } from './errors.js';
import { parseCertificate, parseCertificateFile, type NotationCertificate } from './certificate.js';
import { isIssuedBy } from './certificate-chain.js';
import type { TrustStoreType } from './trust-policy.js';

export interface TrustStore {
  /**
   * The certificates of a named store. Throws TrustStoreError when the store does not exist,
   * holds no certificate or holds one that cannot be trusted.
   */
  certificates(type: TrustStoreType, name: string): readonly NotationCertificate[];
}

export interface NamedStoreInput {
  type: TrustStoreType;
  name: string;
  /** DER certificates. */
  certificates: readonly Uint8Array[];
}

/** A named store's certificates, or why it cannot be used. */
type StoreEntry = readonly NotationCertificate[] | TrustStoreError;

const TYPES: readonly TrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];
const EXTENSIONS = ['.pem', '.crt', '.cer'];
const MAX_STORES_PER_TYPE = 1000;
const MAX_FILES_PER_STORE = 1000;
const MAX_FILE_BYTES = 1024 * 1024;

/** A trust store held in memory, built from certificates or read from a notation trust store directory. */
export class X509TrustStore implements TrustStore {
  private constructor(private readonly stores: ReadonlyMap<string, StoreEntry>) {}

  /** Builds a store from DER certificates. Never throws: a bad store fails when it is used. */
  static fromCertificates(stores: readonly NamedStoreInput[]): X509TrustStore {
    const map = new Map<string, StoreEntry>();
    for (const s of stores) {
      map.set(key(s.type, s.name), loadStore(s.type, s.name, () => s.certificates.map((der) => parseCertificate(der))));
    }
    return new X509TrustStore(map);
  }

  /**
   * Reads a notation trust store directory (the one holding `x509/`). A missing directory gives an
   * empty store. Named stores that are symlinks, or that hold symlinked, unreadable or invalid
   * certificate files, are recorded as failing and throw when used. Throws TrustStoreError only
   * when a type directory holds more named stores than the limit.
   */
  static async readDirectory(dir: string): Promise<X509TrustStore> {
    const map = new Map<string, StoreEntry>();
    for (const type of TYPES) {
      const typeDir = join(dir, 'x509', type);
      const entries = await readdir(typeDir, { withFileTypes: true }).catch(() => []);
      if (entries.length > MAX_STORES_PER_TYPE) throw new TrustStoreError(`${typeDir} has more than ${MAX_STORES_PER_TYPE} named stores`);
      for (const entry of entries) {
        if (entry.isSymbolicLink()) {
          const error = new TrustStoreError(`trust store ${JSON.stringify(entry.name)} of type ${type} is a symlink, which is not supported`);
          map.set(key(type, entry.name), error);
        } else if (entry.isDirectory()) {
          map.set(key(type, entry.name), await readNamedStore(type, entry.name, join(typeDir, entry.name)));
        }
      }
    }
    return new X509TrustStore(map);
  }

  certificates(type: TrustStoreType, name: string): readonly NotationCertificate[] {
    const entry = this.stores.get(key(type, name));
    if (entry === undefined) throw new TrustStoreError(`trust store ${JSON.stringify(name)} of type ${type} does not exist`);
    if (entry instanceof TrustStoreError) throw entry;
    return entry;
  }
}

function key(type: TrustStoreType, name: string): string {
  return `${type}:${name}`;
}

function loadStore(type: TrustStoreType, name: string, read: () => NotationCertificate[]): StoreEntry {
  try {
    const certs = read();
    if (certs.length === 0) return new TrustStoreError(`trust store ${JSON.stringify(name)} of type ${type} holds no certificate`);
    for (const c of certs) checkTrusted(type, name, c);
    return certs;
  } catch (e) {
    return e instanceof TrustStoreError ? e : new TrustStoreError(`trust store ${JSON.stringify(name)} of type ${type}: ${(e as Error).message}`);
  }
}

function checkTrusted(type: TrustStoreType, name: string, c: NotationCertificate): void {
  const selfSigned = isIssuedBy(c, c);
  const ca = c.basicConstraints?.ca === true;
  const ok = type === 'tsa' ? selfSigned && ca : selfSigned || ca;
  if (!ok) {
    const need = type === 'tsa' ? 'a self-signed root CA certificate' : 'a CA certificate or self-signed';
    throw new TrustStoreError(`trust store ${JSON.stringify(name)} of type ${type}: certificate ${c.subjectString} is not ${need}`);
  }
}

async function readNamedStore(type: TrustStoreType, name: string, path: string): Promise<StoreEntry> {
  const files: { file: string; bytes: Buffer }[] = [];
  try {
    const entries = await readdir(path, { withFileTypes: true });
    if (entries.length > MAX_FILES_PER_STORE) throw new TrustStoreError(`trust store ${JSON.stringify(name)} has more than ${MAX_FILES_PER_STORE} entries`);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext))) continue;
      if (entry.isSymbolicLink()) {
        throw new TrustStoreError(`trusted certificate ${entry.name} in trust store ${JSON.stringify(name)} is a symlink, which is not supported`);
      }
      if (!entry.isFile()) continue; // sub directories are ignored
      const file = join(path, entry.name);
      const info = await lstat(file);
      if (info.size > MAX_FILE_BYTES) throw new TrustStoreError(`trusted certificate ${entry.name} is larger than ${MAX_FILE_BYTES} bytes`);
      files.push({ file: entry.name, bytes: await readFile(file) });
    }
  } catch (e) {
    if (e instanceof TrustStoreError) return e;
    return new TrustStoreError(`trust store ${JSON.stringify(name)} of type ${type} cannot be read: ${(e as Error).message}`);
  }
  return loadStore(type, name, () =>
    files.flatMap(({ file, bytes }) => {
      try {
        return parseCertificateFile(bytes);
      } catch (e) {
        const where = `trusted certificate file ${file} in trust store ${JSON.stringify(name)} of type ${type}`;
        throw new TrustStoreError(`${where}: ${(e as Error).message}`);
      }
    }),
  );
}
