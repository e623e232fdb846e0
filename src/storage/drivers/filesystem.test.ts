import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemDriver } from './filesystem.js';
import { storageDriverContract } from '../storage-driver.contract.js';

async function tempRoot(): Promise<{ base: string; root: string }> {
  const base = await mkdtemp(join(tmpdir(), 'berth-fs-driver-'));
  return { base, root: join(base, 'root') };
}

storageDriverContract('filesystem', async () => {
  const { base, root } = await tempRoot();
  const driver = new FilesystemDriver(root);
  await driver.init();
  return { driver, cleanup: () => rm(base, { recursive: true, force: true }) };
});

describe('FilesystemDriver specifics', () => {
  test('init() creates the root and removes leftovers in _tmp, keeping stored objects', async () => {
    const { base, root } = await tempRoot();
    try {
      const first = new FilesystemDriver(root);
      await first.init();
      await first.put('blobs/keep', Buffer.from('kept'));
      // What a crash mid-put leaves behind: a temp file and a stray directory.
      await writeFile(join(root, '_tmp', 'crashed-put'), 'partial');
      await mkdir(join(root, '_tmp', 'stray-dir', 'nested'), { recursive: true });
      await writeFile(join(root, '_tmp', 'stray-dir', 'nested', 'f'), 'x');
      // Two hours old: a crash's leftovers, not another process's write in progress.
      const old = new Date(Date.now() - 2 * 3600_000);
      await utimes(join(root, '_tmp', 'crashed-put'), old, old);
      await utimes(join(root, '_tmp', 'stray-dir'), old, old);
      // A fresh temp file may belong to another node sharing the root: it stays.
      await writeFile(join(root, '_tmp', 'in-progress'), 'writing');

      const second = new FilesystemDriver(root);
      await second.init();
      assert.deepEqual(await readdir(join(root, '_tmp')), ['in-progress']);
      assert.deepEqual(await second.stat('blobs/keep'), { size: 4 });
      await second.init(); // idempotent
      assert.deepEqual(await second.stat('blobs/keep'), { size: 4 });
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  test('a failed put leaves no temp file behind', async () => {
    const { base, root } = await tempRoot();
    try {
      const d = new FilesystemDriver(root);
      await d.init();
      const body = Readable.from(
        (async function* () {
          yield Buffer.alloc(512 * 1024, 1);
          throw new Error('boom');
        })(),
      );
      await assert.rejects(d.put('k/failed', body), /boom/);
      assert.deepEqual(await readdir(join(root, '_tmp')), []);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  test('keys with "..", absolute keys and backslashes are refused by every method', async () => {
    const { base, root } = await tempRoot();
    try {
      const d = new FilesystemDriver(root);
      await d.init();
      // An object outside the root that an escaping key would reach.
      await writeFile(join(base, 'outside'), 'secret');
      await d.put('uploads/u/data', Buffer.from('staged'));
      const bad = ['../outside', 'a/../../outside', '..', 'a/..', '/etc/passwd', 'a\\..\\..\\outside'];
      for (const key of bad) {
        await assert.rejects(d.stat(key), `stat ${key}`);
        await assert.rejects(d.read(key), `read ${key}`);
        await assert.rejects(d.put(key, Buffer.from('x')), `put ${key}`);
        await assert.rejects(d.append(key, Readable.from([Buffer.from('x')]), 0), `append ${key}`);
        await assert.rejects(d.delete(key), `delete ${key}`);
        await assert.rejects(d.commit('uploads/u/data', key), `commit to ${key}`);
        assert.deepEqual(await d.stat('uploads/u/data'), { size: 6 }, `commit to ${key} moved the source`);
        await assert.rejects(d.commit(key, 'blobs/x'), `commit from ${key}`);
        await assert.rejects(
          (async () => {
            for await (const _k of d.list(key)) break;
          })(),
          `list ${key}`,
        );
      }
      // Nothing escaped: the outside file is intact and nothing new appeared next to it.
      assert.deepEqual((await readdir(base)).sort(), ['outside', 'root']);
      assert.equal(await readFile(join(base, 'outside'), 'utf8'), 'secret');
      assert.equal(await d.stat('blobs/x'), undefined);
      assert.deepEqual(await readdir(join(root, '_tmp')), []);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
