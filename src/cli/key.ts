/**
 * `berth key generate`: a cosign key pair (`cosign generate-key-pair`): `<prefix>.key`, the
 * ECDSA P-256 private key encrypted as cosign encrypts it (scrypt + NaCl secretbox, PEM
 * "ENCRYPTED SIGSTORE PRIVATE KEY"), and `<prefix>.pub`, the PKIX public key. Also the key
 * loading the signing commands share: the password comes from COSIGN_PASSWORD (which may be
 * empty, as cosign allows), else a prompt on a terminal, else standard input, as cosign reads it.
 */
import { open, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateCosignKeyPair, loadPrivateKey, loadPublicKey, WrongPasswordError, CosignKeyError, type CosignPrivateKey, type CosignPublicKey } from '../sign/cosign/index.js';
import { passwordFrom } from './login.js';
import { readInputFile, signingAction, SigningInputError } from './signing-client.js';

interface GenerateOptions {
  outputKeyPrefix: string;
  force?: boolean;
}

/** Registers `berth key generate`. */
export function registerKey(program: Command): void {
  const key = program.command('key').description('Cosign signing keys');
  key
    .command('generate')
    .description('Write a cosign key pair: <prefix>.key (encrypted with COSIGN_PASSWORD or a password asked twice) and <prefix>.pub')
    .option('--output-key-prefix <prefix>', 'path and name of the files, without .key/.pub', 'cosign')
    .option('--force', 'overwrite existing files')
    .action(signingAction(async (opts: GenerateOptions) => {
      const files = { key: `${opts.outputKeyPrefix}.key`, pub: `${opts.outputKeyPrefix}.pub` };
      if (!opts.force) {
        for (const file of [files.key, files.pub]) {
          if (await exists(file)) throw new SigningInputError(`${file} already exists: pass --force to overwrite it, or choose another --output-key-prefix`);
        }
      }
      const pair = await generateCosignKeyPair(await cosignPassword(true));
      await writeNew(files.key, pair.privatePem, 0o600, opts.force);
      await writeNew(files.pub, pair.publicPem, 0o644, opts.force);
      process.stderr.write(`Private key written to ${files.key}\nPublic key written to ${files.pub}\n`);
    }));
}

/**
 * The password for a cosign private key: COSIGN_PASSWORD when set (even empty), else asked on a
 * terminal (twice with `confirm`), else all of standard input without its trailing newline.
 * Throws an Error when none can be had.
 */
export async function cosignPassword(confirm: boolean, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.COSIGN_PASSWORD !== undefined) return env.COSIGN_PASSWORD;
  return passwordFrom({ passwordStdin: !process.stdin.isTTY }, 'Enter password for private key: ', confirm);
}

/**
 * Loads the private key at `file` for signing: a cosign key (password as cosignPassword says) or
 * an unencrypted PEM key. Throws SigningInputError naming the file for a wrong password or a
 * key cosign would not accept.
 */
export async function loadSigningKey(file: string): Promise<CosignPrivateKey> {
  const pem = await readInputFile(file, 'private key', 64 * 1024);
  const encrypted = pem.toString('latin1').includes('-----BEGIN ENCRYPTED');
  try {
    return await loadPrivateKey(pem, encrypted ? await cosignPassword(false) : undefined);
  } catch (e) {
    if (e instanceof WrongPasswordError) throw new SigningInputError(`cannot decrypt the private key ${file}: wrong password (check COSIGN_PASSWORD)`);
    if (e instanceof CosignKeyError) throw new SigningInputError(`private key ${file}: ${e.message}`);
    throw e;
  }
}

/** Loads a public key file (cosign.pub, PEM). Throws SigningInputError naming the file. */
export async function loadVerificationKey(file: string): Promise<CosignPublicKey> {
  const pem = await readInputFile(file, 'public key', 64 * 1024);
  try {
    return loadPublicKey(pem);
  } catch (e) {
    if (e instanceof CosignKeyError) throw new SigningInputError(`public key ${file}: ${e.message}`);
    throw e;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file with `mode`; without `overwrite` it must not exist yet (O_EXCL, so a race cannot clobber one either). */
async function writeNew(file: string, text: string, mode: number, overwrite = false): Promise<void> {
  let handle;
  try {
    handle = await open(file, overwrite ? 'w' : 'wx', mode);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SigningInputError(err.code === 'EEXIST' ? `${file} already exists: pass --force to overwrite it` : `cannot write ${file}: ${err.message}`);
  }
  try {
    await handle.chmod(mode);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
