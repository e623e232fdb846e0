/*
 * One measured run of the scan benchmark, in a process of its own so its
 * peak RSS is its own (process.resourceUsage().maxRSS, the kernel's high-water
 * mark, which includes Node's own ~40-50 MiB):
 *
 *   scan-worker.js berth LAYOUT TAG DBDIR   inventory + match, as `berth scan oci:LAYOUT:TAG` does
 *   scan-worker.js walk LAYOUT TAG          the floor: gunzip every layer and walk its tar entries (node:zlib + tar-stream), nothing else
 *
 * Prints one JSON line (WorkerResult) on stdout; exits 1 with the error on stderr.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { AdvisoryDb } from '../src/scan/advisories/index.js';
import { findVulnerabilities, takeInventory } from '../src/scan/scanner.js';
import { layoutBlobPath, openLayoutImage } from './scan-layout.js';

export interface WorkerResult {
  /** Milliseconds from opening the image to the last result, modules already loaded. */
  scanMs: number;
  /** berth: the inventory part of scanMs. */
  inventoryMs?: number;
  /** berth: the matching part of scanMs. */
  matchMs?: number;
  maxRssMiB: number;
  /** User + system CPU time of the whole process. */
  cpuMs: number;
  packages?: number;
  findings?: number;
  warnings?: number;
  /** walk: tar entries and the bytes of their bodies. */
  entries?: number;
  fileBytes?: number;
}

async function berth(layout: string, tag: string, dbDir: string): Promise<Omit<WorkerResult, 'maxRssMiB' | 'cpuMs'>> {
  const db = AdvisoryDb.open(dbDir, { readonly: true });
  const start = performance.now();
  const { image, close } = await openLayoutImage(layout, tag);
  let inventory;
  try {
    inventory = await takeInventory(image);
  } finally {
    await close();
  }
  const inventoried = performance.now();
  const findings = findVulnerabilities(db, inventory);
  const end = performance.now();
  db.close();
  return {
    scanMs: end - start,
    inventoryMs: inventoried - start,
    matchMs: end - inventoried,
    packages: inventory.packages.length,
    findings: findings.length,
    warnings: inventory.warnings.length,
  };
}

async function walk(layout: string, tag: string): Promise<Omit<WorkerResult, 'maxRssMiB' | 'cpuMs'>> {
  const start = performance.now();
  const index = JSON.parse(readFileSync(`${layout}/index.json`, 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const chosen = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!chosen) throw new Error(`${layout} has no image tagged ${tag}`);
  const manifest = JSON.parse(readFileSync(layoutBlobPath(layout, chosen.digest), 'utf8')) as { layers: { digest: string }[] };
  let entries = 0;
  let fileBytes = 0;
  for (const layer of manifest.layers) {
    const tar = extract();
    const piped = pipeline(createReadStream(layoutBlobPath(layout, layer.digest)), createGunzip({ chunkSize: 256 * 1024 }) /* as berth inflates */, tar);
    for await (const entry of tar) {
      entries++;
      for await (const chunk of entry as AsyncIterable<Buffer>) fileBytes += chunk.length;
    }
    await piped;
  }
  return { scanMs: performance.now() - start, entries, fileBytes };
}

async function main(): Promise<void> {
  const [mode, layout, tag, dbDir] = process.argv.slice(2);
  if (!layout || !tag || (mode === 'berth' && !dbDir) || (mode !== 'berth' && mode !== 'walk')) {
    throw new Error('usage: scan-worker.js berth LAYOUT TAG DBDIR | walk LAYOUT TAG');
  }
  const result = mode === 'berth' ? await berth(layout, tag, dbDir!) : await walk(layout, tag);
  const usage = process.resourceUsage();
  const out: WorkerResult = { ...result, maxRssMiB: usage.maxRSS / 1024, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`scan-worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
