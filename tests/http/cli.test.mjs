// The command line: versions, help on every subcommand, exit codes scripts
// can trust, idle-connection timeout, and a clean drain on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { BIN, startServer, req, patient } from './lib.mjs';

const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 20000 });

test('--version and --help exit 0; usage errors exit 2', () => {
  const v = run('--version');
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^jianlian \d+\.\d+\.\d+ \(FHIR 4\.0\.1\)/);
  for (const args of [['--help'], ['serve', '--help'], ['check', '--help']]) {
    const r = run(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Usage: jianlian/);
  }
  assert.equal(run().status, 2);
  assert.equal(run('frobnicate').status, 2);
  assert.equal(run('serve', '--port', 'eighty').status, 2);
  assert.equal(run('serve', '--port', '70000').status, 2);
  assert.equal(run('serve', '--max-body', '12X').status, 2);
  assert.equal(run('serve', '--bogus').status, 2);
  assert.equal(run('serve', '--max-count', '0').status, 2);
  assert.equal(run('serve', '--page-size', '50', '--max-count', '10').status, 2);
  assert.equal(run('serve', 'extra-arg').status, 2);
  assert.equal(run('check', '--nope').status, 2);
});

test('check: 0 on an intact data directory, 1 when it cannot be opened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jl-cli-'));
  const ok = run('check', '--data', join(dir, 'fresh'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: 0 resources, 0 versions/);
  const bad = run('check', '--data', '/proc/definitely/not/here');
  assert.equal(bad.status, 1);
  assert.ok(bad.stderr.length > 0);
  rmSync(dir, { recursive: true, force: true });
});

test('serve exits 1 when the port is taken', async () => {
  const srv = await startServer();
  const port = new URL(srv.url).port;
  const dir = mkdtempSync(join(tmpdir(), 'jl-cli-'));
  const r = run('serve', '--port', port, '--data', dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Cannot listen/);
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a client that stops sending is disconnected after --idle-timeout', async () => {
  const srv = await startServer(['--idle-timeout', '1']);
  const port = Number(new URL(srv.url).port);
  const t0 = Date.now();
  const closedAfter = await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n'));
    s.on('close', () => resolve(Date.now() - t0));
    s.on('error', () => {});
  });
  assert.ok(closedAfter >= 900 && closedAfter < 5000, `closed after ${closedAfter} ms`);
  assert.equal((await req(srv, 'GET', '/metadata')).status, 200);
  await srv.stop();
});

test('SIGTERM during a burst of writes: answered writes are all kept, exit 0', async () => {
  const srv = await startServer(['--no-access-log']);
  // 16 clients write in a loop; SIGTERM arrives after the first 100 answers.
  let answered = 0, signalled = false;
  const results = [];
  await Promise.allSettled(Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; i < 1000; i++) {
      const r = await req(srv, 'POST', '/Patient', { body: patient({ name: [{ family: `T${w}-${i}` }] }) });
      results.push(r);
      if (++answered === 100 && !signalled) { signalled = true; srv.proc.kill('SIGTERM'); }
    }
  }));
  const answers = results.map((value) => ({ status: 'fulfilled', value }));
  const exit = await srv.exited;
  assert.deepEqual(exit, { code: 0, sig: null }, 'clean exit after draining: ' + srv.logs().slice(-500));
  const created = answers.filter((a) => a.status === 'fulfilled' && a.value.status === 201).map((a) => a.value.json);
  assert.ok(created.length > 0);
  const again = await startServer([], { dataDir: srv.dir });
  for (const c of created) {
    const r = await req(again, 'GET', `/Patient/${c.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, c);
  }
  await again.stop();
  rmSync(srv.dir, { recursive: true, force: true });
});
