// Black-box test helpers: start a real jianlian server on a free port with a
// temporary data directory, talk to it over HTTP, stop it cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = process.env.JL_BIN || new URL('../../build/jianlian', import.meta.url).pathname;

export async function startServer(extraArgs = [], { dataDir } = {}) {
  const dir = dataDir || mkdtempSync(join(tmpdir(), 'jl-http-'));
  const proc = spawn(BIN, ['serve', '--port', '0', '--data', dir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  // Settles once, whenever the process ends (exit code, or the signal that killed it).
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)\/fhir/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const srv = {
    url, base: url + '/fhir', dir, proc, exited,
    logs: () => stderr,
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      srv.exit = await exited;
      if (srv.exit.code !== 0) process.stderr.write(`server exit ${JSON.stringify(srv.exit)}; last log lines:\n${stderr.slice(-2000)}\n`);
      if (!keepData && !dataDir) rmSync(dir, { recursive: true, force: true });
      return srv.exit;
    },
  };
  return srv;
}

export const FHIR_JSON = 'application/fhir+json';

export async function req(srv, method, path, { body, headers = {}, raw = false } = {}) {
  const h = { ...headers };
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    payload = JSON.stringify(body);
  }
  if (payload !== undefined && !('Content-Type' in h) && !('content-type' in h)) h['Content-Type'] = FHIR_JSON;
  const res = await fetch(srv.base + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  if (!raw && text) {
    try { json = JSON.parse(text); } catch { json = undefined; }
  }
  return { status: res.status, headers: res.headers, text, json };
}

// Asserts an OperationOutcome with at least one issue; returns the issues.
export function outcome(assert, r, status) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.equal(r.json?.resourceType, 'OperationOutcome', r.text.slice(0, 300));
  assert.ok(r.json.issue.length > 0);
  return r.json.issue;
}

export function patient(extra = {}) {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:oid:2.16.156.10011.1.3', value: '53290119800101001X' }],
    name: [{ family: '段', given: ['丽华'] }],
    gender: 'female',
    birthDate: '1980-01-01',
    ...extra,
  };
}
