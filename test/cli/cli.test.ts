import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_BIN } from '../helpers/server.js';

function berth(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BERTH_BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('berth CLI', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-cli-'));
    dirs.push(d);
    return d;
  };

  test('berth --help lists the commands', () => {
    const r = berth(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['serve', 'config', 'db']) assert.match(r.out, new RegExp(`\\b${c}\\b`));
  });

  test('berth serve --help explains every option and the precedence', () => {
    const r = berth(['serve', '--help']);
    assert.equal(r.code, 0);
    for (const o of ['--listen', '--data', '--config', '--log-level']) assert.ok(r.out.includes(o), `mentions ${o}`);
    assert.match(r.out, /defaults < config file < environment/);
  });

  test('config check accepts a valid file and lists every problem of an invalid one with its key path', async () => {
    const d = await tmp();
    const good = join(d, 'good.yaml');
    await writeFile(good, 'version: 1\nlisten: 127.0.0.1:5001\nregistry:\n  delete:\n    enabled: false\n');
    const ok = berth(['config', 'check', good]);
    assert.equal(ok.code, 0, ok.err);
    const bad = join(d, 'bad.yaml');
    await writeFile(bad, 'version: 1\nlisten: nowhere\nregistry:\n  delete:\n    enable: false\n  maxManifestBytes: 12\n');
    const r = berth(['config', 'check', bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, /listen: must be HOST:PORT/);
    assert.match(r.err, /registry\.delete: unknown key\(s\) enable/);
    assert.match(r.err, /registry\.maxManifestBytes/);
  });

  test('serve refuses an invalid environment value at start, naming the key', async () => {
    const d = await tmp();
    const r = berth(['serve', '--data', d, '--listen', '127.0.0.1:0'], { BERTH_REGISTRY_DELETE_ENABLED: 'maybe' });
    assert.equal(r.code, 2);
    assert.match(r.err, /registry\.delete\.enabled/);
  });

  test('db migrate creates the embedded database and reports the schema version', async () => {
    const d = await tmp();
    const r = berth(['db', 'migrate', '--data', d, '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as { driver: string; schemaVersion: number };
    assert.equal(report.driver, 'sqlite');
    assert.ok(report.schemaVersion >= 1);
    assert.ok(existsSync(join(d, 'berth.db')));
  });

  test('SIGTERM stops the server even when its stdout reader has gone away', async () => {
    const d = await tmp();
    const proc = spawn(process.execPath, [BERTH_BIN, 'serve', '--listen', '127.0.0.1:0', '--data', d], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      // Read the first log line, then close our end of the pipe (as `| head -1` does).
      await once(proc.stdout!, 'data');
      proc.stdout!.destroy();
      await new Promise((r) => setTimeout(r, 200));
      proc.kill('SIGTERM');
      const exited = once(proc, 'exit');
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no exit within 15 s of SIGTERM')), 15_000).unref());
      const [code] = (await Promise.race([exited, timeout])) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});
