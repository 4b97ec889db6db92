// HutchClient against a real `hutch serve`: every route through the typed client, over the Unix
// socket and TCP; the streamed command's iterables, stdin, signals and abort; errors carrying
// the service's code; HUTCH_HOST / HUTCH_TOKEN. Commands are ones both the fake backend's
// interpreter (tests/fake/commands.hpp) and a real shell environment have (echo, cat, sleep),
// and printenv, which is the shell's on real backends (busybox images often lack the applet).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HutchClient, HutchError, parseHost } from '../dist/index.js';
import { Service, tokens, env, skipReason, image, overTcp, overSocket, tls } from './fixture.mjs';

const skip = await skipReason();
const printenv = (name) => (env.backend === 'fake' ? ['printenv', name] : ['sh', '-c', `echo "$${name}"`]);

async function text(chunks) {
  let all = '';
  for await (const chunk of chunks) all += Buffer.from(chunk).toString('utf8');
  return all;
}

async function rejectsWith(promise, code, needle) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof HutchError, `not a HutchError: ${error}`);
    assert.equal(error.code, code, error.message);
    if (needle) assert.ok(error.message.includes(needle), `'${needle}' not in '${error.message}'`);
    return true;
  });
}

describe(`HutchClient on ${env.backend}`, { skip }, () => {
  let service;
  let client;
  let sandbox;
  before(async () => {
    service = await Service.start();
    client = new HutchClient(overSocket(service));
    sandbox = await client.createSandbox({ image, env: { WHO: 'client' }, labels: { suite: 'client' } });
  });
  after(async () => {
    client?.close();
    await service?.stop();
  });

  it('parses hosts and refuses bad ones with a clear error', () => {
    assert.deepEqual(parseHost('unix:///run/x.sock'), { kind: 'unix', socketPath: '/run/x.sock' });
    assert.deepEqual(parseHost('tcp://127.0.0.1:8080'), { kind: 'tcp', tls: false, hostname: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseHost('https://[::1]:9'), { kind: 'tcp', tls: true, hostname: '::1', port: 9 });
    assert.throws(() => parseHost('ftp://x'), /host 'ftp:\/\/x': unknown scheme/);
    assert.throws(() => parseHost('unix://relative'), /must be absolute/);
  });

  it('reads HUTCH_HOST and HUTCH_TOKEN like the CLI', async () => {
    const saved = { host: process.env.HUTCH_HOST, token: process.env.HUTCH_TOKEN, ca: process.env.HUTCH_TLS_CA };
    process.env.HUTCH_HOST = overTcp(service).host;
    process.env.HUTCH_TOKEN = tokens.admin;
    if (tls) process.env.HUTCH_TLS_CA = join(tls.dir, 'ca.pem');
    try {
      const fromEnv = new HutchClient();
      assert.equal(fromEnv.transport.endpoint.kind, 'tcp');
      assert.equal((await fromEnv.getSandbox(sandbox.id)).id, sandbox.id);
      fromEnv.close();
    } finally {
      for (const [key, name] of [['host', 'HUTCH_HOST'], ['token', 'HUTCH_TOKEN'], ['ca', 'HUTCH_TLS_CA']])
        if (saved[key] === undefined) delete process.env[name]; else process.env[name] = saved[key];
    }
  });

  it('carries the service\'s error code and message', async () => {
    await rejectsWith(client.getSandbox('no-such-sandbox'), 'not_found', "no sandbox 'no-such-sandbox'");
    const anonymous = new HutchClient({ ...overTcp(service), token: 'wrong-token' });
    await rejectsWith(anonymous.backends(), 'unauthenticated', 'not known');
    anonymous.close();
    await rejectsWith(client.createSandbox({ image, labels: { 'hutch.tenant': 'x' } }), 'invalid_argument', 'labels.hutch.tenant');
    await rejectsWith(new HutchClient({ host: `unix://${service.dir}/nothing.sock` }).health(), 'io', 'nothing.sock');
  });

  it('a tenant sees only its own sandboxes', async () => {
    const alice = new HutchClient(overTcp(service, tokens.alice));
    await rejectsWith(alice.getSandbox(sandbox.id), 'not_found');
    const own = await alice.createSandbox({ image });
    assert.deepEqual((await alice.listSandboxes()).map((one) => one.id), [own.id]);
    await alice.deleteSandbox(own.id);
    alice.close();
  });

  it('lists backends and sandboxes, with filters', async () => {
    const backends = await client.backends();
    assert.ok(backends.some((one) => one.name === env.backend && one.default));
    const listed = await client.listSandboxes({ labels: { suite: 'client' }, backend: env.backend });
    assert.deepEqual(listed.map((one) => one.id), [sandbox.id]);
    assert.deepEqual(await client.listSandboxes({ labels: { suite: 'none' } }), []);
    assert.equal((await client.health()).status, 'ok');
  });

  it('runs a buffered command', async () => {
    const result = await client.exec(sandbox.id, { argv: printenv('WHO') });
    assert.equal(result.stdout, 'client\n');
    assert.equal(result.exit_code, 0);
    const missing = await client.exec(sandbox.id, { argv: ['no-such-command'] });
    assert.equal(missing.exit_code, 127);
    assert.ok(missing.stderr.includes('no-such-command'), missing.stderr);
  });

  it('streams a command: output as iterables, stdin written and closed', async () => {
    const stream = await client.stream(sandbox.id, { argv: ['cat'] });
    await stream.write('one\n');
    await stream.write(new TextEncoder().encode('two\n'));
    await stream.closeStdin();
    const [stdout, stderr, exit] = await Promise.all([text(stream.stdout), text(stream.stderr), stream.wait()]);
    assert.equal(stdout, 'one\ntwo\n');
    assert.equal(stderr, '');
    assert.equal(exit.exit_code, 0);
    const failing = await client.stream(sandbox.id, { argv: ['no-such-command'] });
    const [failingErr, failingExit] = await Promise.all([text(failing.stderr), failing.wait()]);
    assert.ok(failingErr.includes('no-such-command'), failingErr);
    assert.equal(failingExit.exit_code, 127);
  });

  it('streams over TCP with a token, and kill signals the command', async () => {
    const remote = new HutchClient(overTcp(service));
    const stream = await remote.stream(sandbox.id, { argv: ['cat'] });
    await stream.write('ready\n');
    const reader = stream.stdout[Symbol.asyncIterator]();
    assert.equal(Buffer.from((await reader.next()).value).toString(), 'ready\n');
    await stream.kill('SIGKILL');
    const exit = await stream.wait();
    assert.equal(exit.signal, 9);
    remote.close();
  });

  it('an AbortSignal kills a streamed command and rejects its wait', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const stream = await client.stream(sandbox.id, { argv: ['sleep', '30'], signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await rejectsWith(stream.wait(), 'aborted');
    assert.ok(Date.now() - started < 10000, 'the abort did not end the stream promptly');
    if (env.backend === 'fake') return;  // the fake has no /proc; its own tests cover kill
    // The command is gone: nothing named sleep 30 is left in the sandbox.
    const ps = await client.exec(sandbox.id, { argv: ['sh', '-c', 'for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr "\\0" " "; echo; done'] });
    assert.ok(!ps.stdout.includes('sleep 30'), ps.stdout);
  });

  it('a stream that cannot start rejects with the service\'s error', async () => {
    await rejectsWith(client.stream('no-such-sandbox', { argv: ['true'] }), 'not_found');
    const bad = await client.stream(sandbox.id, { argv: [] });
    await rejectsWith(bad.wait(), 'invalid_argument');
  });

  it('files: write streamed, read, stat, list, mkdir, move, remove', async () => {
    await client.mkdir(sandbox.id, '/tmp/files/deep', { parents: true });
    async function* pieces() {
      yield 'hello ';
      yield new TextEncoder().encode('world');
    }
    const stat = await client.writeFile(sandbox.id, '/tmp/files/deep/a.txt', pieces(), { mode: 0o600 });
    assert.equal(stat.size, 11);
    assert.equal(stat.mode & 0o777, 0o600);
    assert.equal(new TextDecoder().decode(await client.readFile(sandbox.id, '/tmp/files/deep/a.txt')), 'hello world');
    const big = Buffer.alloc(3 << 20, 'x');
    await client.writeFile(sandbox.id, '/tmp/files/big', big);
    assert.equal((await client.readFile(sandbox.id, '/tmp/files/big')).length, big.length);
    await client.moveFile(sandbox.id, '/tmp/files/deep/a.txt', '/tmp/files/b.txt');
    assert.deepEqual((await client.listFiles(sandbox.id, '/tmp/files')).map((one) => [one.name, one.type]),
      [['b.txt', 'regular'], ['big', 'regular'], ['deep', 'directory']]);
    await client.removeFile(sandbox.id, '/tmp/files', { recursive: true });
    await rejectsWith(client.statFile(sandbox.id, '/tmp/files'), 'not_found');
  });

  it('lifecycle: lifetimes, stats, stop/start, pause, fork, snapshot, restore', async () => {
    const [backend] = (await client.backends()).filter((one) => one.name === env.backend);
    const caps = backend.capabilities;
    const patched = await client.setLifetimes(sandbox.id, { ttl_ms: 3600000 });
    assert.ok(patched.expires_at);
    if (caps.stats) assert.equal(typeof (await client.stats(sandbox.id)).memory_bytes, 'number');
    if (caps.pause) {
      assert.equal((await client.pause(sandbox.id)).state, 'paused');
      assert.equal((await client.unpause(sandbox.id)).state, 'running');
    }
    const other = await client.createSandbox({ image });
    assert.equal((await client.stop(other.id)).state, 'stopped');
    assert.equal((await client.start(other.id)).state, 'running');
    await client.writeFile(other.id, '/tmp/mark', 'original');
    const copy = await client.fork(other.id);
    assert.equal(new TextDecoder().decode(await client.readFile(copy.id, '/tmp/mark')), 'original');
    const snapshot = await client.snapshot(other.id, 'client-test');
    assert.equal(snapshot.label, 'client-test');
    assert.ok((await client.listSnapshots()).some((one) => one.id === snapshot.id));
    const restored = await client.restoreSnapshot(snapshot.id, { env: { RESTORED: 'yes' } });
    assert.equal((await client.exec(restored.id, { argv: ['cat', '/tmp/mark'] })).stdout, 'original');
    assert.equal((await client.exec(restored.id, { argv: printenv('RESTORED') })).stdout, 'yes\n');
    await client.writeFile(copy.id, '/tmp/mark', 'changed in the copy');
    assert.equal((await client.exec(other.id, { argv: ['cat', '/tmp/mark'] })).stdout, 'original');
    await client.deleteSnapshot(snapshot.id);
    await rejectsWith(client.restoreSnapshot(snapshot.id), 'not_found', snapshot.id);
    for (const id of [other.id, copy.id, restored.id]) await client.deleteSandbox(id);
    await rejectsWith(client.getSandbox(other.id), 'not_found');
  });
});
