// The /v1 API through a real `hutch serve` on HUTCH_SERVER_TEST_BACKEND (fake, or subcontainer
// with real namespaces): curl over the Unix socket, fetch over loopback TCP, every response
// checked against server/openapi.json.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { writeFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Service, tokens, env, expectError, backendSkip } from './service_fixture.mjs';

const skip = await backendSkip();

const admin = { token: tokens.admin };
const alice = { token: tokens.alice };
const bob = { token: tokens.bob };
// A sandbox for the tests: the fake ignores the image; subcontainer runs the host's programs.
const spec = (extra = {}) => ({ image: 'host', env: { GREETING: 'hello' }, labels: { test: 'api' }, ...extra });

describe(`hutch serve on ${env.backend}`, { skip }, () => {
  let service;
  let capabilities;
  before(async () => {
    service = await Service.start({ serveTable: 'body_limit = "64k"\nheader_timeout = "2s"\nidle_timeout = "5s"' });
    const backends = await service.curl('GET', '/v1/backends', admin);
    assert.equal(backends.status, 200, backends.text);
    capabilities = backends.json.find((b) => b.name === env.backend).capabilities;
  });
  after(async () => { await service?.stop(); });

  async function create(who = admin, extra = {}) {
    const created = await service.curl('POST', '/v1/sandboxes', { ...who, json: spec(extra) });
    assert.equal(created.status, 201, created.text);
    return created.json;
  }
  const exec = (id, request, who = admin) => service.curl('POST', `/v1/sandboxes/${id}/exec`, { ...who, json: request });

  it('answers health and its API document without a token, on the socket and on TCP', async () => {
    const health = await service.curl('GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const document = await service.fetch('GET', '/v1/openapi.json');
    assert.equal(document.status, 200);
    assert.deepEqual(document.json, JSON.parse(readFileSync(join(env.source, 'server/openapi.json'), 'utf8')));
  });

  it('refuses requests without a valid token with 401, on both listeners', async () => {
    expectError(await service.curl('GET', '/v1/sandboxes'), 401, 'unauthenticated', 'Bearer');
    expectError(await service.fetch('GET', '/v1/sandboxes'), 401, 'unauthenticated');
    expectError(await service.fetch('GET', '/v1/sandboxes', { token: 'not-a-token-of-this-service' }), 401, 'unauthenticated', 'not known');
    expectError(await service.curl('GET', '/v1/sandboxes', { headers: [`Authorization: Basic ${tokens.admin}`] }), 401, 'unauthenticated');
    // An unknown route does not tell an unauthenticated caller that it does not exist.
    expectError(await service.curl('GET', '/v1/nothing'), 401, 'unauthenticated');
    expectError(await service.curl('POST', '/v1/sandboxes', { json: spec() }), 401, 'unauthenticated');
    const listed = await service.fetch('GET', '/v1/sandboxes', admin);
    assert.equal(listed.status, 200, listed.text);
  });

  it('creates, inspects, lists and destroys a sandbox labelled as the service\'s', async () => {
    const sandbox = await create();
    assert.equal(sandbox.backend, env.backend);
    assert.equal(sandbox.state, 'running');
    assert.equal(sandbox.labels['hutch.service'], service.instanceId);
    assert.equal(sandbox.labels.test, 'api');
    assert.equal(sandbox.spec.env.GREETING, 'hello');
    const got = await service.fetch('GET', `/v1/sandboxes/${sandbox.id}`, admin);
    assert.equal(got.status, 200);
    assert.equal(got.json.id, sandbox.id);
    const listed = await service.curl('GET', '/v1/sandboxes?label=test%3Dapi', admin);
    assert.ok(listed.json.some((s) => s.id === sandbox.id), listed.text);
    const other = await service.curl('GET', '/v1/sandboxes?label=test%3Dother', admin);
    assert.ok(!other.json.some((s) => s.id === sandbox.id));
    expectError(await service.curl('GET', '/v1/sandboxes?backend=nope', admin), 404, 'not_found', "'nope'");
    const removed = await service.curl('DELETE', `/v1/sandboxes/${sandbox.id}`, admin);
    assert.equal(removed.status, 204, removed.text);
    expectError(await service.curl('GET', `/v1/sandboxes/${sandbox.id}`, admin), 404, 'not_found', sandbox.id);
  });

  it('answers DELETE once the sandbox is marked for removal, and removes it in the background', {
    skip: env.backend === 'fake' && 'the fake backend removes at once: nothing to wait for',
  }, async () => {
    // A process that ignores SIGTERM makes the removal wait the whole 3 s stop grace.
    const sandbox = await create(admin, { stop_grace_ms: 3000 });
    const started = await exec(sandbox.id, { argv: ['sh', '-c', "(trap '' TERM; exec sleep 60) >/dev/null 2>&1 </dev/null &"] });
    assert.equal(started.status, 200, started.text);
    const before = Date.now();
    const removed = await service.curl('DELETE', `/v1/sandboxes/${sandbox.id}`, admin);
    const took = Date.now() - before;
    assert.equal(removed.status, 204, removed.text);
    assert.ok(took < 1500, `DELETE took ${took} ms: it waited for the removal`);
    expectError(await service.curl('GET', `/v1/sandboxes/${sandbox.id}`, admin), 404, 'not_found', sandbox.id);
    const listed = await service.curl('GET', '/v1/sandboxes', admin);
    assert.ok(!listed.json.some((s) => s.id === sandbox.id), 'a sandbox marked for removal is still listed');
    // The backend itself, asked directly: the removal finishes.
    for (let waited = 0; ; waited += 200) {
      const { stdout } = await promisify(execFile)(env.hutch, ['--config', service.config, '--json', 'ls']);
      if (!JSON.parse(stdout).some((s) => s.id === sandbox.id)) break;
      assert.ok(waited < 10000, `sandbox ${sandbox.id} still exists 10 s after its DELETE`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('runs commands: output, stdin as text and as base64, env, exit status as a result', async () => {
    const { id } = await create();
    const echoed = await exec(id, { argv: ['echo', 'hi', 'there'] });
    assert.equal(echoed.status, 200, echoed.text);
    assert.equal(echoed.json.stdout, 'hi there\n');
    assert.equal(echoed.json.exit_code, 0);
    assert.equal(echoed.json.timed_out, false);
    const catted = await exec(id, { argv: ['cat'], stdin: 'from stdin' });
    assert.equal(catted.json.stdout, 'from stdin');
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    const raw = await exec(id, { argv: ['cat'], stdin: binary.toString('base64'), stdin_encoding: 'base64' });
    assert.equal(raw.json.stdout_encoding, 'base64');
    assert.deepEqual(Buffer.from(raw.json.stdout, 'base64'), binary);
    const printed = await exec(id, { argv: ['printenv', 'GREETING'], env: {} });
    assert.equal(printed.json.stdout, 'hello\n');
    const overridden = await exec(id, { argv: ['printenv', 'GREETING'], env: { GREETING: 'bye' } });
    assert.equal(overridden.json.stdout, 'bye\n');
    const missing = await exec(id, { argv: ['printenv', 'NOT_SET_ANYWHERE'] });
    assert.equal(missing.status, 200);
    assert.equal(missing.json.exit_code, 1);
    const truncated = await exec(id, { argv: ['echo', 'a long line of output'], output_limit_bytes: 4 });
    assert.equal(truncated.json.stdout, 'a lo');
    assert.equal(truncated.json.stdout_truncated, true);
  });

  it('answers bad input with 400 naming the field, and unknown routes and methods', async () => {
    const { id } = await create();
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: '{"image": ' }), 400, 'invalid_argument', 'not valid JSON');
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: '[1]' }), 400, 'invalid_argument', 'JSON object');
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { env: { A: 1 } } }), 400, 'invalid_argument', "field 'env.A'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { memory: 'lots' } }), 400, 'invalid_argument', "field 'memory'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { mounts: [{ type: 'tmpfs', target: 5 }] } }), 400,
      'invalid_argument', "field 'mounts[0].target'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { imgae: 'x' } }), 400, 'invalid_argument', "field 'imgae'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { backend: 7 } }), 400, 'invalid_argument', "field 'backend'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { labels: { 'hutch.tenant': 'bob' } } }), 400,
      'invalid_argument', "field 'labels.hutch.tenant'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { backend: 'nope' } }), 404, 'not_found', "'nope'");
    expectError(await exec(id, { argv: [] }), 400, 'invalid_argument', "field 'argv'");
    expectError(await exec(id, { argv: ['echo'], timeout_ms: 'soon' }), 400, 'invalid_argument', "field 'timeout_ms'");
    expectError(await exec(id, { argv: ['echo'], stdin: '!!', stdin_encoding: 'base64' }), 400, 'invalid_argument', "field 'stdin'");
    expectError(await exec(id, { argv: ['echo'], stdin_encoding: 'latin1' }), 400, 'invalid_argument', "field 'stdin_encoding'");
    expectError(await service.curl('PATCH', `/v1/sandboxes/${id}`, { ...admin, json: { ttl_ms: -1 } }), 400, 'invalid_argument', "field 'ttl_ms'");
    expectError(await service.curl('GET', `/v1/sandboxes/${id}/files`, admin), 400, 'invalid_argument', "'path'");
    expectError(await service.curl('GET', '/v1/nothing', admin), 404, 'not_found', '/v1/nothing');
    expectError(await service.curl('PUT', '/v1/sandboxes', admin), 405, 'invalid_argument', '(allowed: POST, GET)');
  });

  it('takes a spec\'s files as content only: a host source path is refused with 400 naming the field', async () => {
    // The service would read the file with its own rights (another user's keys, /etc/shadow).
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: spec({ files: [{ path: '/tmp/a', content: 'x' },
      { path: '/tmp/stolen', source: '/etc/shadow' }] }) }), 400, 'invalid_argument', "files[1].source ('/etc/shadow')");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: spec({ files: [{ path: '/tmp/a', mode: 'rw' }] }) }),
      400, 'invalid_argument', "field 'files[0].mode'");
    const { id } = await create(admin, { files: [{ path: '/tmp/dir/greeting', content: 'hi from the client', mode: 0o600 }] });
    const got = await service.curl('GET', `/v1/sandboxes/${id}/files?path=/tmp/dir/greeting`, { ...admin, validate: false });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.text, 'hi from the client');
  });

  it('refuses a JSON body over the limit with 413, before and while reading it', async () => {
    const { id } = await create();
    const big = JSON.stringify({ argv: ['echo', 'x'.repeat(100 * 1024)] });
    expectError(await service.curl('POST', `/v1/sandboxes/${id}/exec`, { ...admin, json: big }), 413, 'too_large', '65536');
    // Chunked: no Content-Length to refuse it by, so the count while reading does.
    expectError(await service.curl('POST', `/v1/sandboxes/${id}/exec`, { ...admin, json: big, headers: ['Transfer-Encoding: chunked'] }),
      413, 'too_large');
    const fine = await exec(id, { argv: ['echo', 'still served'] });
    assert.equal(fine.json.stdout, 'still served\n');
  });

  it('keeps tenants apart: one cannot see or touch another\'s sandbox', async () => {
    const mine = await create(alice);
    assert.equal(mine.labels['hutch.tenant'], 'alice');
    const path = `/v1/sandboxes/${mine.id}`;
    expectError(await service.curl('GET', path, bob), 404, 'not_found');
    expectError(await service.fetch('DELETE', path, bob), 404, 'not_found');
    expectError(await exec(mine.id, { argv: ['echo', 'intruder'] }, bob), 404, 'not_found');
    expectError(await service.curl('GET', `${path}/files?path=/etc/hostname`, bob), 404, 'not_found');
    expectError(await service.curl('POST', `${path}/stop`, bob), 404, 'not_found');
    // The same message as for an id that does not exist at all.
    const absent = await service.curl('GET', '/v1/sandboxes/no-such-sandbox', bob);
    const denied = await service.curl('GET', path, bob);
    assert.equal(denied.json.error.message.replace(mine.id, 'ID'), absent.json.error.message.replace('no-such-sandbox', 'ID'));
    const bobs = await service.curl('GET', '/v1/sandboxes', bob);
    assert.ok(!bobs.json.some((s) => s.id === mine.id), bobs.text);
    const asked = await service.curl('GET', '/v1/sandboxes?label=hutch.tenant%3Dalice', bob);
    assert.deepEqual(asked.json, []);
    const theirs = await create(bob);
    const alices = await service.curl('GET', '/v1/sandboxes', alice);
    assert.deepEqual(alices.json.map((s) => s.id), [mine.id]);
    const everyone = await service.curl('GET', '/v1/sandboxes', admin);
    for (const id of [mine.id, theirs.id]) assert.ok(everyone.json.some((s) => s.id === id));
    const ran = await exec(mine.id, { argv: ['echo', 'owner'] }, alice);
    assert.equal(ran.json.stdout, 'owner\n');
    assert.equal((await service.curl('GET', path, alice)).status, 200);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${theirs.id}`, bob)).status, 204);
  });

  it('streams files both ways and lists, stats, makes, moves and removes them', async () => {
    const { id } = await create();
    const files = `/v1/sandboxes/${id}/files`;
    const made = await service.curl('POST', `${files}/mkdir`, { ...admin, json: { path: '/tmp/api/deep/er', parents: true } });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.type, 'directory');
    const local = join(service.dir, 'upload.bin');
    const content = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7919) & 0xff;
    writeFileSync(local, content);
    const put = await service.curl('PUT', `${files}?path=/tmp/api/data.bin&mode=0600`, { ...admin, upload: local });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.size, content.length);
    assert.equal(put.json.mode, 0o600);
    const got = await service.curl('GET', `${files}?path=/tmp/api/data.bin`, admin);
    assert.equal(got.status, 200);
    assert.equal(got.contentType, 'application/octet-stream');
    assert.equal(createHash('sha256').update(got.body).digest('hex'), createHash('sha256').update(content).digest('hex'));
    const empty = await service.curl('PUT', `${files}?path=/tmp/api/empty`, { ...admin, data: '' });
    assert.equal(empty.json.size, 0);
    assert.equal((await service.curl('GET', `${files}?path=/tmp/api/empty`, admin)).body.length, 0);
    const listed = await service.curl('GET', `${files}/list?path=/tmp/api`, admin);
    assert.deepEqual(listed.json.map((e) => [e.name, e.type]), [['data.bin', 'regular'], ['deep', 'directory'], ['empty', 'regular']]);
    const stat = await service.fetch('GET', `${files}/stat?path=/tmp/api/data.bin`, admin);
    assert.equal(stat.json.size, content.length);
    const moved = await service.curl('POST', `${files}/move`, { ...admin, json: { from: '/tmp/api/data.bin', to: '/tmp/api/moved.bin' } });
    assert.equal(moved.status, 204, moved.text);
    expectError(await service.curl('GET', `${files}/stat?path=/tmp/api/data.bin`, admin), 404, 'not_found');
    const removed = await service.curl('DELETE', `${files}?path=/tmp/api&recursive=true`, admin);
    assert.equal(removed.status, 204, removed.text);
    expectError(await service.curl('GET', `${files}/list?path=/tmp/api`, admin), 404, 'not_found');
  });

  it('PATCH env sets and unsets the environment of later commands (Handle::set_env)', async () => {
    const sandbox = await create();
    const path = `/v1/sandboxes/${sandbox.id}`;
    const patched = await service.curl('PATCH', path, { ...admin, json: { env: { set: { LATER: 'set' }, unset: ['GREETING'] } } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await exec(sandbox.id, { argv: ['printenv', 'LATER'] })).json.stdout, 'set\n');
    assert.equal((await exec(sandbox.id, { argv: ['printenv', 'GREETING'] })).json.exit_code, 1);
    expectError(await service.curl('PATCH', path, { ...admin, json: { env: { set: { A: 1 } } } }), 400, 'invalid_argument', "field 'env.set.A'");
    expectError(await service.curl('PATCH', path, { ...admin, json: { env: { sett: {} } } }), 400, 'invalid_argument', "field 'env.sett'");
    expectError(await service.curl('PATCH', path, { ...admin, json: { env: { set: { A: '1' }, unset: ['A'] } } }), 400, 'invalid_argument');
    assert.equal((await service.curl('DELETE', path, admin)).status, 204);
  });

  // The traffic is checked by the subcontainer bridge tests (in a network namespace of their
  // own); here the service's sandboxes have network "none", which refuses rules.
  it('PATCH egress replaces the egress rules of bridge sandboxes only (Handle::set_egress)', async () => {
    const sandbox = await create();
    const path = `/v1/sandboxes/${sandbox.id}`;
    const patch = (egress) => service.curl('PATCH', path, { ...admin, json: { egress } });
    const denyAll = [{ action: 'deny', destination: 'all' }];
    if (capabilities.set_egress) {
      expectError(await patch(denyAll), 400, 'invalid_argument', 'need network "bridge"; network is "none"');
      const cleared = await patch([]);
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.json.spec.egress, undefined);
    } else {
      expectError(await patch(denyAll), 501, 'unsupported', 'set_egress');
    }
    // The body is read as create's "egress", whatever the backend.
    expectError(await patch([{ action: 'block', destination: 'all' }]), 400, 'invalid_argument', "field 'egress[0].action'");
    expectError(await patch([{ action: 'deny', destination: 'all', port: 80 }]), 400, 'invalid_argument', 'egress[0].port');
    expectError(await patch({ action: 'deny', destination: 'all' }), 400, 'invalid_argument', "field 'egress'");
    assert.equal((await service.curl('DELETE', path, admin)).status, 204);
  });

  it('answers the lifecycle verbs the backend has, and 501 for those it lacks', async () => {
    const sandbox = await create();
    const path = `/v1/sandboxes/${sandbox.id}`;
    const stats = await service.curl('GET', `${path}/stats`, admin);
    assert.equal(stats.status, capabilities.stats ? 200 : 501, stats.text);
    if (capabilities.pause) {
      assert.equal((await service.curl('POST', `${path}/pause`, admin)).json.state, 'paused');
      assert.equal((await service.curl('POST', `${path}/unpause`, admin)).json.state, 'running');
    } else {
      expectError(await service.curl('POST', `${path}/pause`, admin), 501, 'unsupported', 'pause');
    }
    if (capabilities.stop) {
      const patched = await service.curl('PATCH', path, { ...admin, json: { ttl_ms: 3600000 } });
      assert.equal(patched.status, 200, patched.text);
      const expires = Date.parse(patched.json.expires_at);
      assert.ok(Math.abs(expires - (Date.now() + 3600000)) < 120000, patched.text);
      assert.equal((await service.curl('POST', `${path}/stop`, admin)).json.state, 'stopped');
      assert.equal((await service.curl('POST', `${path}/start`, admin)).json.state, 'running');
    } else {
      expectError(await service.curl('POST', `${path}/stop`, admin), 501, 'unsupported');
    }
    await service.curl('PUT', `${path}/files?path=/tmp/forked`, { ...admin, data: 'copied' });
    if (capabilities.fork) {
      const fork = await service.curl('POST', `${path}/fork`, admin);
      assert.equal(fork.status, 201, fork.text);
      assert.notEqual(fork.json.id, sandbox.id);
      const copied = await service.curl('GET', `/v1/sandboxes/${fork.json.id}/files?path=/tmp/forked`, admin);
      assert.equal(copied.text, 'copied');
    }
    if (capabilities.snapshot) {
      const snapshot = await service.curl('POST', `${path}/snapshot`, { ...admin, json: { label: 'api-test' } });
      assert.equal(snapshot.status, 201, snapshot.text);
      assert.equal(snapshot.json.label, 'api-test');
      assert.equal(snapshot.json.source_sandbox, sandbox.id);
      const listed = await service.curl('GET', '/v1/snapshots', admin);
      assert.ok(listed.json.some((s) => s.id === snapshot.json.id), listed.text);
      // A tenant sees only the snapshots it took.
      const theirs = await service.curl('GET', '/v1/snapshots', alice);
      assert.equal(theirs.status, 200, theirs.text);
      assert.ok(!theirs.json.some((s) => s.id === snapshot.json.id), theirs.text);
      expectError(await service.curl('DELETE', `/v1/snapshots/${snapshot.json.id}`, alice), 404, 'not_found');
      const restored = await service.curl('POST', `/v1/snapshots/${snapshot.json.id}/restore`, { ...admin, json: { image: 'host' } });
      assert.equal(restored.status, 201, restored.text);
      const file = await service.curl('GET', `/v1/sandboxes/${restored.json.id}/files?path=/tmp/forked`, admin);
      assert.equal(file.text, 'copied');
      assert.equal((await service.curl('DELETE', `/v1/snapshots/${snapshot.json.id}`, admin)).status, 204);
      expectError(await service.curl('DELETE', `/v1/snapshots/${snapshot.json.id}`, admin), 404, 'not_found');
    }
  });

  it('makes symlinks, launches a main command and streams its log, and prunes its own sandboxes', async () => {
    const sandbox = await create(admin, { labels: { test: 'api', group: 'prune-me' } });
    const path = `/v1/sandboxes/${sandbox.id}`;
    await service.curl('PUT', `${path}/files?path=/tmp/target`, { ...admin, data: 'pointed at' });
    const link = await service.curl('POST', `${path}/files/symlink`, { ...admin, json: { target: '/tmp/target', path: '/tmp/link' } });
    assert.equal(link.status, 201, link.text);
    assert.equal(link.json.type, 'symlink');
    assert.equal((await service.curl('GET', `${path}/files?path=/tmp/link`, admin)).text, 'pointed at');
    expectError(await service.curl('POST', `${path}/files/symlink`, { ...admin, json: { path: '/tmp/x' } }), 400, 'invalid_argument', "'target'");
    if (capabilities.launch) {
      expectError(await service.curl('GET', `${path}/logs`, admin), 404, 'not_found');
      const launched = await service.curl('POST', `${path}/launch`, { ...admin, json: { argv: ['sh', '-c', 'echo from-main'] } });
      assert.equal(launched.status, 201, launched.text);
      const logs = await service.curl('GET', `${path}/logs?follow=1`, admin);
      assert.equal(logs.status, 200, logs.text);
      assert.ok(logs.text.includes('from-main'), logs.text);
    } else {
      expectError(await service.curl('POST', `${path}/launch`, { ...admin, json: { argv: ['true'] } }), 501, 'unsupported');
    }
    const kept = await create(alice, { labels: { test: 'api', group: 'prune-me' } });
    // A tenant prunes only its own; the operator every one of the service's that matches.
    const byAlice = await service.curl('POST', '/v1/prune', { ...alice, json: { labels: { group: 'prune-me' }, all: true } });
    assert.deepEqual(byAlice.json.removed, [kept.id], byAlice.text);
    const byAdmin = await service.curl('POST', '/v1/prune', { ...admin, json: { labels: { group: 'prune-me' }, all: true } });
    assert.deepEqual(byAdmin.json.removed, [sandbox.id], byAdmin.text);
    expectError(await service.curl('POST', '/v1/prune', { ...admin, json: { all: 'yes' } }), 400, 'invalid_argument', "'all'");
  });

  it('closes a connection whose request header does not arrive in time (slowloris)', async () => {
    const started = Date.now();
    const closed = await new Promise((resolve, reject) => {
      const socket = createConnection(service.port, '127.0.0.1');
      socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
      // One header byte a second keeps the connection busy, but not past header_timeout.
      const drip = setInterval(() => socket.write('X'), 500);
      socket.on('close', () => { clearInterval(drip); resolve(Date.now() - started); });
      socket.on('error', () => {});
      setTimeout(() => { clearInterval(drip); socket.destroy(); reject(new Error('still open after 10 s')); }, 10000);
    });
    assert.ok(closed >= 1500 && closed < 5000, `closed after ${closed} ms (header_timeout 2s)`);
  });

  it('streams a file far larger than its buffers without holding it in memory', async () => {
    const { id } = await create();
    const local = join(service.dir, 'large.bin');
    const size = 96 * 1024 * 1024;
    writeFileSync(local, Buffer.alloc(size, 'z'));
    const rss = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${service.process.pid}/status`, 'utf8'))[1]) * 1024;
    const before = rss();
    const put = await service.curl('PUT', `/v1/sandboxes/${id}/files?path=/tmp/large.bin`, { ...admin, upload: local });
    assert.equal(put.json.size, size, put.text);
    const got = await service.curl('GET', `/v1/sandboxes/${id}/files?path=/tmp/large.bin`, { ...admin, validate: false });
    assert.equal(got.body.length, size);
    const grown = rss() - before;
    assert.ok(grown < 32 * 1024 * 1024, `the service's peak RSS grew by ${grown} bytes for a ${size}-byte file`);
    assert.ok(statSync(local).size === size);
  });
});
