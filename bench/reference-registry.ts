import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort, spawnServer, type BenchTarget } from './bench-target.js';

/** Where Debian's `docker-registry` package installs CNCF Distribution. */
export const DEFAULT_DISTRIBUTION_BIN = '/usr/bin/docker-registry';

export interface DistributionOptions {
  bin: string;
  /** Directory the registry may own; removed on stop. */
  dir: string;
  /** Adds `storage.cache.blobdescriptor: inmemory`, as Debian's shipped config does. */
  blobDescriptorCache: boolean;
}

/** The binary when it is present and executable, else undefined. */
export function findDistribution(bin: string): string | undefined {
  try {
    accessSync(bin, constants.X_OK);
    return bin;
  } catch {
    return undefined;
  }
}

/** "2.8.2+ds1" from `docker-registry --version`, or undefined. */
export function distributionVersion(bin: string): string | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    return /\s(v?\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

function configYaml(root: string, port: number, cache: boolean): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    ...(cache ? ['  cache:', '    blobdescriptor: inmemory'] : []),
    '  filesystem:',
    `    rootdirectory: ${root}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Starts `docker-registry serve CONFIG` on a free loopback port and waits until GET /v2/ answers. */
export async function startDistribution(opts: DistributionOptions): Promise<BenchTarget> {
  const root = join(opts.dir, 'data');
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const config = join(opts.dir, 'config.yml');
  await writeFile(config, configYaml(root, port, opts.blobDescriptorCache));
  const version = distributionVersion(opts.bin);
  return spawnServer({
    name: 'distribution',
    label: `Distribution ${version ?? ''}`.trim(),
    command: opts.bin,
    args: ['serve', config],
    port,
    readyPath: '/v2/',
    dir: opts.dir,
  });
}
