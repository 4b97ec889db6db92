// A real `hutch serve` for the API tests: its own config, state directory and tokens file, a
// Unix socket and a loopback TCP port; clients are curl (over the socket) and node's fetch
// (over TCP). Every response the clients get is checked against server/openapi.json.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, chmodSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { OpenApi } from './openapi_validator.mjs';

const run = promisify(execFile);

export const env = {
  hutch: process.env.HUTCH_EXE,
  testPlugins: process.env.HUTCH_TEST_PLUGIN_DIR,
  plugins: process.env.HUTCH_PLUGIN_OUTPUT_DIR,
  source: process.env.HUTCH_SOURCE_DIR,
  backend: process.env.HUTCH_SERVER_TEST_BACKEND || 'fake',
};
for (const [name, value] of Object.entries(env)) if (!value) throw new Error(`environment: ${name} is not set (run through ctest)`);

// With HUTCH_SERVER_TEST_TLS (the path of hutch-test-certs), the service's TCP listener speaks
// TLS with certificates made here for this run (removed at its end), and WebSocket clients use
// wss:// with the test CA: the same tests then run over TLS.
export const tls = process.env.HUTCH_SERVER_TEST_TLS ? (() => {
  const dir = mkdtempSync(join(tmpdir(), 'hutch-serve-test-certs-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.env.HUTCH_SERVER_TEST_TLS, [dir]);
  return { dir, ca: readFileSync(join(dir, 'ca.pem')) };
})() : null;
export const wsScheme = tls ? 'wss' : 'ws';

export const openapi = new OpenApi(JSON.parse(readFileSync(join(env.source, 'server/openapi.json'), 'utf8')));

export const tokens = {
  admin: 'admin-token-0123456789abcdef',
  alice: 'alice-token-0123456789abcdef',
  bob: 'bob-token-0123456789abcdef-xyz',
};

// Whether the subcontainer backend can run here (user + mount namespaces); with
// HUTCH_REQUIRE_NAMESPACES=1 a missing one fails instead of skipping.
export async function namespacesUsable() {
  try {
    await run('unshare', ['--user', '--map-root-user', '--mount', 'true']);
    return true;
  } catch {
    return false;
  }
}

// The `skip` of a suite on env.backend: false, or why subcontainer cannot run here; with
// HUTCH_REQUIRE_NAMESPACES=1 that is an error instead of a skip.
export async function backendSkip() {
  if (env.backend !== 'subcontainer' || await namespacesUsable()) return false;
  if (['1', 'true', 'yes'].includes(process.env.HUTCH_REQUIRE_NAMESPACES ?? ''))
    throw new Error('HUTCH_REQUIRE_NAMESPACES is set but user+mount namespaces are not usable');
  return 'user+mount namespaces are not usable here (set HUTCH_REQUIRE_NAMESPACES=1 to fail instead)';
}

export class Service {
  // Starts `hutch serve` on `backend` with `serveTable` lines in [serve] and `extraTokens`
  // lines in its tokens file; resolves once it
  // listens on both its socket and its TCP port.
  static async start({ backend = env.backend, serveTable = '', extraArgs = [], extraTokens = '' } = {}) {
    const service = new Service();
    service.dir = mkdtempSync(join(tmpdir(), 'hutch-serve-test-'));
    chmodSync(service.dir, 0o711);  // subcontainer sandboxes' roots walk down to the state
    service.stateDir = join(service.dir, 'state');
    service.socket = join(service.dir, 'run', 'hutch.sock');
    service.config = join(service.dir, 'hutch.toml');
    service.tokensFile = join(service.dir, 'tokens');
    writeFileSync(service.config,
      `[defaults]\nbackend = "${backend}"\nstate_dir = "${service.stateDir}"\n` +
      `[plugins]\npaths = ["${env.testPlugins}", "${env.plugins}"]\n[serve]\n${serveTable}\n` +
      (tls ? `tls_cert = "${join(tls.dir, 'server.pem')}"\ntls_key = "${join(tls.dir, 'server-key.pem')}"\n` : ''));
    writeFileSync(service.tokensFile,
      `# the test's tokens\nadmin ${tokens.admin}\nalice ${tokens.alice} tenant=alice\n\nbob ${tokens.bob} tenant=bob\n${extraTokens}`,
      { mode: 0o600 });
    service.args = ['--config', service.config, 'serve', '--listen', `unix://${service.socket}`,
      '--listen', 'tcp://127.0.0.1:0', '--tokens-file', service.tokensFile, ...extraArgs];
    await service.#launch();
    service.instanceId = readFileSync(join(service.stateDir, 'serve', 'instance-id'), 'utf8').trim();
    return service;
  }

  // Starts the service's process; resolves once it listens on both its socket and its TCP port.
  async #launch() {
    const service = this;
    service.process = spawn(env.hutch, service.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    service.stderr = '';
    service.exited = new Promise((resolve) => service.process.on('exit', (code, signal) => resolve({ code, signal })));
    // A service that does not start leaves nothing: not its process, not its directory.
    const started = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hutch serve did not start in 20 s: ${service.stderr}`)), 20000);
      service.process.stderr.on('data', (data) => {
        service.stderr += data;
        const port = /listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(service.stderr);
        if (port && service.stderr.includes(`listening on unix://${service.socket}`)) {
          service.port = Number(port[1]);
          clearTimeout(timer);
          resolve();
        }
      });
      service.exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`hutch serve exited ${code}: ${service.stderr}`)); });
    });
    await started.catch((error) => {
      if (service.process.exitCode === null) service.process.kill('SIGKILL');
      rmSync(service.dir, { recursive: true, force: true });
      throw error;
    });
  }

  // kill -9 of the service, then a new one on the same configuration and state.
  async restartAfterKill() {
    this.process.kill('SIGKILL');
    await this.exited;
    await this.#launch();
  }

  // The sandboxes of this service as the backend itself lists them (`hutch ls`), the service's
  // bookkeeping aside.
  async backendList() {
    const { stdout } = await run(env.hutch, ['--config', this.config, '--json', 'ls']);
    return JSON.parse(stdout).filter((s) => s.labels?.['hutch.service'] === this.instanceId);
  }

  // Removes every sandbox this service made (as the operator), checks that none is left,
  // stops the service with SIGTERM, and removes its directory. Only this service's: the
  // operator sees every sandbox of the backend, and other tests run beside this one on the
  // same docker engine.
  async stop() {
    try {
      if (this.process.exitCode === null) {
        const own = `/v1/sandboxes?label=${encodeURIComponent(`hutch.service=${this.instanceId}`)}`;
        const listed = await this.curl('GET', own, { token: tokens.admin });
        for (const sandbox of listed.json ?? []) await this.curl('DELETE', `/v1/sandboxes/${sandbox.id}`, { token: tokens.admin });
        const after = await this.curl('GET', own, { token: tokens.admin });
        assert.deepEqual(after.json, [], 'sandboxes left after the test');
        this.process.kill('SIGTERM');
        const { code, signal } = await this.exited;
        assert.equal(code, 0, `hutch serve ended with ${code ?? signal} on SIGTERM: ${this.stderr}`);
        assert.ok(!existsSync(this.socket), 'the socket file is left after SIGTERM');
      }
    } finally {
      if (this.process.exitCode === null) this.process.kill('SIGKILL');
      // Whatever a failed test left on a real backend, before the state goes: only this
      // service's sandboxes (other tests run beside this one on the same docker engine).
      if (this.instanceId)
        await run(env.hutch, ['--config', this.config, 'prune', '--all', '--label', `hutch.service=${this.instanceId}`]).catch(() => {});
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // A request with curl over the Unix socket: { status, contentType, body (Buffer), json }.
  // `json` is sent as the body; `data` as raw bytes; `upload` streams a file (curl -T).
  async curl(method, path, { token, json, data, upload, headers = [], validate = true } = {}) {
    const bodyFile = join(this.dir, `body-${process.hrtime.bigint()}`);
    const args = ['-sS', '--unix-socket', this.socket, '-X', method, '-o', bodyFile, '-w', '%{http_code} %{content_type}'];
    if (token) args.push('-H', `Authorization: Bearer ${token}`);
    for (const header of headers) args.push('-H', header);
    if (json !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', typeof json === 'string' ? json : JSON.stringify(json));
    if (data !== undefined) args.push('--data-binary', data);
    if (upload !== undefined) args.push('-T', upload);
    args.push(`http://localhost${path}`);
    const { stdout } = await run('curl', args, { maxBuffer: 1 << 20 });
    const [status, contentType = ''] = stdout.split(' ');
    const body = existsSync(bodyFile) ? readFileSync(bodyFile) : Buffer.alloc(0);
    rmSync(bodyFile, { force: true });
    return this.#finish(method, path, Number(status), contentType, body, validate);
  }

  // The same over TCP with node's fetch.
  async fetch(method, path, { token, json, validate = true } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method, headers, body: json === undefined ? undefined : JSON.stringify(json),
    });
    const body = Buffer.from(await response.arrayBuffer());
    return this.#finish(method, path, response.status, response.headers.get('content-type') || '', body, validate);
  }

  #finish(method, path, status, contentType, body, validate) {
    const result = { status, contentType, body, text: body.toString('utf8') };
    if (contentType.startsWith('application/json') && body.length > 0) result.json = JSON.parse(result.text);
    if (validate) {
      const problems = openapi.checkResponse(method, path.split('?')[0], status, contentType, result.text);
      assert.deepEqual(problems, [], `${method} ${path} -> ${status} does not match openapi.json: ${result.text.slice(0, 500)}`);
    }
    return result;
  }
}

// Asserts an error answer: the status and the error code, and that the message has `needle`.
// An upgrade through the service's port proxy to a server in a sandbox that answers 101 and then
// echoes: sends the request `head` on a raw socket to the service's TCP `port`, waits for the
// 101, sends `message`, waits for it to come back, and closes the socket.
export async function upgradeAndEcho(port, head, message) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (data) => (received += data));
  socket.write(head);
  const until = async (needle) => {
    for (let i = 0; i < 100 && !received.includes(needle); ++i) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(received.includes(needle), `'${needle}' not in: ${received}`);
  };
  await until('101 Switching Protocols');
  socket.write(message);
  await until(message);
  socket.end();
  await new Promise((resolve) => socket.on('close', resolve));
}

// Polls `probe` every 100 ms until it returns a truthy value, for up to `ms`.
export async function until(what, probe, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function expectError(result, status, code, needle) {
  assert.equal(result.status, status, `expected ${status}, got ${result.status}: ${result.text}`);
  assert.equal(result.json?.error?.code, code, result.text);
  if (needle) assert.ok(result.json.error.message.includes(needle), `'${needle}' not in: ${result.json.error.message}`);
}
