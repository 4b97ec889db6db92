// The official E2B SDK (`e2b` from npm, unmodified, pinned in package-lock.json) against a real
// `hutch serve`: E2B_API_URL=http://127.0.0.1:PORT/e2b, E2B_SANDBOX_URL=.../e2b/envd, and an
// `e2b_<hex>` service token as E2B_API_KEY. HUTCH_E2B_SDK names the package ("e2b" is 2.51.0,
// "e2b-2.45" is 2.45.0); HUTCH_SERVER_TEST_BACKEND the backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request as httpRequest } from 'node:http';
import { Service, env, namespacesUsable, tokens, until, upgradeAndEcho } from '../server/service_fixture.mjs';
import { EventStream } from '../server/event_stream.mjs';

const [major, minor, patch] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && (minor < 18 || (minor === 18 && patch < 1))))
  throw new Error(`the E2B SDK needs Node 20.18.1 or newer; this is ${process.versions.node}`);

const sdkName = process.env.HUTCH_E2B_SDK || 'e2b';
const { Sandbox, CommandExitError, TimeoutError, NotFoundError, SandboxError, RateLimitError } = await import(sdkName);

const keys = {
  operator: 'e2b_' + '0123456789abcdef'.repeat(2) + '00aa11bb',
  alice: 'e2b_' + 'fedcba9876543210'.repeat(2) + '22cc33dd',
};
// What each backend runs E2B's default template `base` as.
// [serve.e2b] domain: the host names of sandboxes' ports (PORT-ID.<domain>).
const domain = 'e2b.hutch.test';
const images = { subcontainer: 'host', docker: process.env.HUTCH_DOCKER_TEST_IMAGE || 'hutch-test-busybox:latest' };

// Whether dockerd answers (the docker run skips without it, unless HUTCH_REQUIRE_DOCKER=1).
async function dockerUsable() {
  try {
    await promisify(execFile)('docker', ['version', '--format', '{{.Server.Version}}']);
    return true;
  } catch {
    return false;
  }
}

let service;
let opts;
let missing;

// A `hutch serve` with the E2B keys as tokens and `serveTable` in [serve]; on docker with the
// capabilities E2B's user needs.
function startService(serveTable) {
  // The docker backend drops every capability: root in the container can then neither give
  // files to E2B's user nor work in the user's directories, as envd does.
  const docker = env.backend === 'docker' ? '[backends.docker]\ncap_add = ["CHOWN", "DAC_OVERRIDE", "FOWNER"]\n' : '';
  return Service.start({
    serveTable: serveTable + docker,
    extraTokens: `e2b-operator ${keys.operator}\ne2b-alice ${keys.alice} tenant=alice\n`,
  });
}
// The SDK's options for `running` (the SDK reads the same from E2B_API_URL, E2B_SANDBOX_URL and
// E2B_API_KEY).
function sdkOptions(running) {
  const base = `http://127.0.0.1:${running.port}`;
  return { apiUrl: `${base}/e2b`, sandboxUrl: `${base}/e2b/envd`, apiKey: keys.operator, requestTimeoutMs: 30000 };
}
before(async () => {
  if (env.backend === 'subcontainer' && !(await namespacesUsable())) {
    if (process.env.HUTCH_REQUIRE_NAMESPACES === '1') throw new Error('user namespaces are not usable here');
    missing = 'user namespaces are not usable here';
    return;
  }
  if (env.backend === 'docker' && !(await dockerUsable())) {
    if (process.env.HUTCH_REQUIRE_DOCKER === '1') throw new Error('dockerd is not reachable');
    missing = 'dockerd is not reachable';
    return;
  }
  service = await startService(`[serve.e2b]\ndomain = "${domain}"\n[serve.e2b.templates]\nbase = "${images[env.backend]}"\n` +
    `warm = { pool = "e2b-warm" }\n[serve.pools.e2b-warm]\nsize = 1\nimage = "${images[env.backend]}"\nenv = { POOLED = "yes" }\n`);
  opts = sdkOptions(service);
});
after(async () => {
  if (!service) return;
  const ended = await Promise.race([service.exited, new Promise((resolve) => setTimeout(resolve, 100))]);
  if (ended) console.error(`hutch serve ended during the tests (${JSON.stringify(ended)}): ${service.stderr}`);
  await service.stop();
});

function skipWithoutService(t) {
  if (!service) t.skip(missing);
  return !service;
}

// A sandbox for one test, killed after it.
async function withSandbox(t, options, body) {
  const sandbox = await Sandbox.create({ ...opts, ...options });
  try {
    await body(sandbox);
  } finally {
    await Sandbox.kill(sandbox.sandboxId, opts);
  }
}

test('Sandbox.create with envs, metadata and timeout; getInfo and commands see them', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, { envs: { GREETING: 'hello e2b' }, metadata: { purpose: 'sdk-test' }, timeoutMs: 120000 }, async (sandbox) => {
    const info = await sandbox.getInfo();
    assert.equal(info.sandboxId, sandbox.sandboxId);
    assert.equal(info.templateId, 'base');
    assert.deepEqual(info.metadata, { purpose: 'sdk-test' });
    assert.equal(info.state, 'running');
    const ends = info.endAt.getTime() - Date.now();
    assert.ok(ends > 100000 && ends <= 121000, `endAt is ${ends} ms away, expected about 120 s`);
    const result = await sandbox.commands.run('echo "$GREETING"');
    assert.equal(result.stdout, 'hello e2b\n');
    assert.equal(result.exitCode, 0);
  });
});

test('commands.run: stdout, stderr, exit code, onStdout while running, cwd, envs, user', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    const both = await sandbox.commands.run('echo out; echo err >&2');
    assert.equal(both.stdout, 'out\n');
    assert.equal(both.stderr, 'err\n');

    const seen = [];
    const started = Date.now();
    const slow = await sandbox.commands.run('echo first; sleep 1; echo second', {
      onStdout: (data) => seen.push({ data, at: Date.now() - started }),
    });
    const ended = Date.now() - started;
    assert.equal(slow.stdout, 'first\nsecond\n');
    assert.ok(seen.length >= 2, `onStdout called ${seen.length} times`);
    assert.ok(seen[0].at < ended - 500, `the first output came at ${seen[0].at} ms, the command ended at ${ended} ms`);

    assert.equal((await sandbox.commands.run('pwd', { cwd: '/tmp' })).stdout, '/tmp\n');
    assert.equal((await sandbox.commands.run('echo "$A-$B"', { envs: { A: 'x', B: 'y' } })).stdout, 'x-y\n');
    assert.equal((await sandbox.commands.run('id -u')).stdout, '1000\n', 'E2B runs commands as user (uid 1000)');
    assert.equal((await sandbox.commands.run('echo $HOME; pwd')).stdout, '/home/user\n/home/user\n');
    assert.equal((await sandbox.commands.run('id -u', { user: 'root' })).stdout, '0\n');

    const errors = [];
    const erring = await sandbox.commands.run('echo oops >&2; sleep 1; echo done', {
      onStderr: (data) => errors.push({ data, at: Date.now() - started }),
    });
    assert.equal(erring.stderr, 'oops\n');
    assert.equal(errors.map((e) => e.data).join(''), 'oops\n');
  });
});

test('commands.run: a failing command raises CommandExitError, a timeout TimeoutError', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    await assert.rejects(sandbox.commands.run('echo bad >&2; exit 3'), (error) => {
      assert.ok(error instanceof CommandExitError, `${error}`);
      assert.equal(error.exitCode, 3);
      assert.equal(error.stderr, 'bad\n');
      return true;
    });
    const started = Date.now();
    await assert.rejects(sandbox.commands.run('sleep 20', { timeoutMs: 1000 }), (error) => {
      assert.ok(error instanceof TimeoutError, `${error}`);
      return true;
    });
    assert.ok(Date.now() - started < 10000, 'the timeout ended the command');
  });
});

test('background command: list, connect by pid, kill', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    const handle = await sandbox.commands.run('echo started; sleep 60', { background: true });
    assert.ok(handle.pid > 0);
    for (let i = 0; i < 100 && !handle.stdout.includes('started'); ++i) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(handle.stdout, 'started\n');
    const listed = await sandbox.commands.list();
    assert.ok(listed.some((process) => process.pid === handle.pid), JSON.stringify(listed));
    await handle.disconnect();
    const again = await sandbox.commands.connect(handle.pid);
    assert.equal(again.pid, handle.pid);
    assert.equal(await sandbox.commands.kill(handle.pid), true);
    await assert.rejects(again.wait(), (error) => {
      assert.ok(error instanceof CommandExitError, `${error}`);
      assert.match(again.stdout, /started/);
      return true;
    });
    assert.equal(await sandbox.commands.kill(handle.pid), false, 'a second kill finds nothing');
  });
});

test('sendStdin reaches a running command', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    const handle = await sandbox.commands.run('read line; echo "got $line"', { background: true, stdin: true });
    await sandbox.commands.sendStdin(handle.pid, 'hello\n');
    const result = await handle.wait();
    assert.equal(result.stdout, 'got hello\n');
  });
});

test('pty: create, sendInput, resize, kill', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    let output = '';
    const decoder = new TextDecoder();
    const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: (data) => { output += decoder.decode(data); } });
    await sandbox.pty.resize(terminal.pid, { cols: 100, rows: 30 });
    await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode('stty size; echo pty-$((40+2))\n'));
    for (let i = 0; i < 100 && !output.includes('pty-42'); ++i) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(output, /pty-42/);
    assert.match(output, /30 100/);
    assert.equal(await sandbox.pty.kill(terminal.pid), true);
    await assert.rejects(terminal.wait());
  });
});

test('files: write and read text and bytes, list, exists, makeDir, rename, remove, getInfo', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    const written = await sandbox.files.write('/tmp/e2b/hello.txt', 'hello files');
    assert.equal(written.path, '/tmp/e2b/hello.txt');
    assert.equal(await sandbox.files.read('/tmp/e2b/hello.txt'), 'hello files');
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    await sandbox.files.write('/tmp/e2b/data.bin', bytes.buffer);
    assert.deepEqual(await sandbox.files.read('/tmp/e2b/data.bin', { format: 'bytes' }), bytes);
    await sandbox.files.write([{ path: '/tmp/e2b/a.txt', data: 'a' }, { path: '/tmp/e2b/b.txt', data: 'bb' }]);
    assert.equal(await sandbox.files.read('/tmp/e2b/b.txt'), 'bb');
    assert.equal((await sandbox.commands.run('cat /tmp/e2b/hello.txt')).stdout, 'hello files');

    assert.equal(await sandbox.files.makeDir('/tmp/e2b/dir/sub'), true);
    assert.equal(await sandbox.files.makeDir('/tmp/e2b/dir/sub'), false, 'makeDir of an existing directory');
    const names = (await sandbox.files.list('/tmp/e2b')).map((entry) => entry.name).sort();
    assert.deepEqual(names, ['a.txt', 'b.txt', 'data.bin', 'dir', 'hello.txt']);
    const deep = (await sandbox.files.list('/tmp/e2b', { depth: 2 })).map((entry) => entry.path);
    assert.ok(deep.includes('/tmp/e2b/dir/sub'), JSON.stringify(deep));

    const info = await sandbox.files.getInfo('/tmp/e2b/hello.txt');
    assert.equal(info.type, 'file');
    assert.equal(info.size, 11);
    assert.equal(info.name, 'hello.txt');
    assert.equal((await sandbox.files.getInfo('/tmp/e2b/dir')).type, 'dir');

    assert.equal(await sandbox.files.exists('/tmp/e2b/a.txt'), true);
    await sandbox.files.rename('/tmp/e2b/a.txt', '/tmp/e2b/renamed.txt');
    assert.equal(await sandbox.files.exists('/tmp/e2b/a.txt'), false);
    assert.equal(await sandbox.files.read('/tmp/e2b/renamed.txt'), 'a');
    await sandbox.files.remove('/tmp/e2b/dir');
    assert.equal(await sandbox.files.exists('/tmp/e2b/dir'), false);
    await assert.rejects(sandbox.files.read('/tmp/e2b/missing'), (error) => error instanceof NotFoundError);

    // Written from a stream and from a Blob, as the SDK's write takes them.
    const encoder = new TextEncoder();
    const chunks = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode('from '));
        controller.enqueue(encoder.encode('a stream'));
        controller.close();
      },
    });
    await sandbox.files.write('/tmp/e2b/streamed.txt', chunks);
    assert.equal(await sandbox.files.read('/tmp/e2b/streamed.txt'), 'from a stream');
    await sandbox.files.write('/tmp/e2b/blob.txt', new Blob(['from a blob']));
    assert.equal((await sandbox.commands.run('cat /tmp/e2b/blob.txt')).stdout, 'from a blob');

    const stream = await sandbox.files.read('/tmp/e2b/hello.txt', { format: 'stream' });
    let streamed = '';
    for await (const chunk of stream) streamed += new TextDecoder().decode(chunk);
    assert.equal(streamed, 'hello files');

    // Relative paths are the user's home, as envd has it.
    await sandbox.files.write('notes.txt', 'in home');
    assert.equal((await sandbox.commands.run('cat /home/user/notes.txt')).stdout, 'in home');
  });
});

test('uploadUrl and downloadUrl work from a plain HTTP client; a changed or expired signature is refused', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    // Other sandboxes exist beside it: the URL names none (E2B_SANDBOX_URL is the same for all).
    await withSandbox(t, {}, async () => {
      const upload = await sandbox.uploadUrl('/tmp/e2b-url/up.txt');
      assert.ok(!upload.includes(sandbox.sandboxId), upload);
      const form = new FormData();
      form.append('file', new Blob(['uploaded by URL']), 'up.txt');
      const posted = await fetch(upload, { method: 'POST', body: form });
      assert.equal(posted.status, 200, await posted.clone().text());
      assert.equal((await sandbox.commands.run('cat /tmp/e2b-url/up.txt')).stdout, 'uploaded by URL');

      const download = await sandbox.downloadUrl('/tmp/e2b-url/up.txt');
      const got = await fetch(download);
      assert.equal(got.status, 200);
      assert.equal(await got.text(), 'uploaded by URL');

      // The signature covers the path and the operation.
      const other = new URL(download);
      other.searchParams.set('path', '/etc/passwd');
      assert.equal((await fetch(other)).status, 401);
      assert.equal((await fetch(upload.replace('/files?', '/files?x=1&'))).status, 401, 'a write URL used to read');
      const expired = await sandbox.downloadUrl('/tmp/e2b-url/up.txt', { useSignatureExpiration: -10 });
      const refused = await fetch(expired);
      assert.equal(refused.status, 401);
      assert.match((await refused.json()).message, /expired/);
      const timed = await sandbox.downloadUrl('/tmp/e2b-url/up.txt', { useSignatureExpiration: 60 });
      assert.equal(await (await fetch(timed)).text(), 'uploaded by URL');
    });
  });
});

test('files.watchDir reports what a command does', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    await sandbox.files.makeDir('/tmp/watched');
    const events = [];
    const watch = await sandbox.files.watchDir('/tmp/watched', (event) => events.push(event));
    await sandbox.commands.run('echo x > /tmp/watched/new.txt');
    for (let i = 0; i < 60 && !events.some((e) => e.name === 'new.txt' && e.type === 'create'); ++i)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await watch.stop();
    assert.ok(events.some((e) => e.name === 'new.txt' && e.type === 'create'), JSON.stringify(events));
  });
});

test('setTimeout, Sandbox.list with metadata, connect, kill; tenants see only their own', async (t) => {
  if (skipWithoutService(t)) return;
  const sandbox = await Sandbox.create({ ...opts, metadata: { suite: 'list' } });
  try {
    await sandbox.setTimeout(600000);
    const info = await sandbox.getInfo();
    assert.ok(info.endAt.getTime() - Date.now() > 550000, 'setTimeout moved endAt');

    const listed = await Sandbox.list({ ...opts, query: { metadata: { suite: 'list' } } }).nextItems();
    assert.deepEqual(listed.map((item) => item.sandboxId), [sandbox.sandboxId]);
    assert.deepEqual(await Sandbox.list({ ...opts, query: { metadata: { suite: 'other' } } }).nextItems(), []);
    const aliceSees = await Sandbox.list({ ...opts, apiKey: keys.alice }).nextItems();
    assert.deepEqual(aliceSees, [], 'a tenant sees no sandbox of the operator');
    await assert.rejects(Sandbox.connect(sandbox.sandboxId, { ...opts, apiKey: keys.alice }), (error) => error instanceof NotFoundError || error instanceof SandboxError);

    const connected = await Sandbox.connect(sandbox.sandboxId, opts);
    assert.equal((await connected.commands.run('echo via connect')).stdout, 'via connect\n');
  } finally {
    assert.equal(await Sandbox.kill(sandbox.sandboxId, opts), true);
  }
  assert.equal(await Sandbox.kill(sandbox.sandboxId, opts), false, 'a killed sandbox is gone');
  await assert.rejects(Sandbox.getInfo(sandbox.sandboxId, opts));
});

test('a sandbox ends at its timeout', async (t) => {
  if (skipWithoutService(t)) return;
  const sandbox = await Sandbox.create({ ...opts, timeoutMs: 2000 });
  assert.equal((await sandbox.commands.run('echo alive')).stdout, 'alive\n');
  let gone = false;
  for (let i = 0; i < 100 && !gone; ++i) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    gone = !(await Sandbox.list(opts).nextItems()).some((item) => item.sandboxId === sandbox.sandboxId);
  }
  assert.ok(gone, 'the sandbox is still listed 10 s after its 2 s timeout');
  await assert.rejects(Sandbox.getInfo(sandbox.sandboxId, opts), (error) => error instanceof NotFoundError || /not found|ended/i.test(error.message));
  // The ended sandbox stays on the backend until killed (or pruned); a kill removes it.
  assert.equal(await Sandbox.kill(sandbox.sandboxId, opts), false, 'E2B answers a kill of an ended sandbox with 404');
  const left = await service.curl('GET', '/v1/sandboxes', { token: tokens.admin });
  assert.ok(!left.json.some((item) => item.id === sandbox.sandboxId), 'the kill removed the ended sandbox');
});

test('pause and resume through connect', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    await sandbox.files.write('/tmp/kept.txt', 'kept');
    assert.equal(await sandbox.pause(), true);
    assert.equal((await sandbox.getInfo()).state, 'paused');
    const resumed = await Sandbox.connect(sandbox.sandboxId, opts);
    assert.equal((await resumed.getInfo()).state, 'running');
    assert.equal((await resumed.commands.run('cat /tmp/kept.txt')).stdout, 'kept');
  });
});

// Waits (up to 30 s: a stop under a loaded machine's parallel tests takes a while) until
// getInfo says `state`.
async function untilState(sandboxId, state) {
  let info;
  for (let i = 0; i < 300; ++i) {
    info = await Sandbox.getInfo(sandboxId, opts);
    if (info.state === state) return info;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`sandbox ${sandboxId} is ${info.state}, not ${state}, 30 s on`);
}

test('lifecycle onTimeout pause: the timeout pauses, setTimeout moves it, autoResume traffic and connect resume it', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, { timeoutMs: 2000, lifecycle: { onTimeout: 'pause', autoResume: true } }, async (sandbox) => {
    const info = await sandbox.getInfo();
    assert.deepEqual(info.lifecycle, { onTimeout: 'pause', autoResume: true });
    assert.deepEqual(info.metadata, {}, 'the lifecycle labels are not metadata');
    assert.ok(info.endAt.getTime() - Date.now() <= 2000 && info.endAt.getTime() > Date.now() - 1000, `endAt ${info.endAt.toISOString()}`);
    // A process that keeps memory state across the pause: a counter in a shell loop.
    await sandbox.commands.run('echo started > /tmp/kept.txt');
    const loop = await sandbox.commands.run('while true; do sleep 0.2; done', { background: true });
    await sandbox.setTimeout(4000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await Sandbox.getInfo(sandbox.sandboxId, opts)).state, 'running', 'setTimeout(4000) moved the pause');
    await untilState(sandbox.sandboxId, 'paused');
    assert.ok((await Sandbox.list({ ...opts, query: { state: ['paused'] } }).nextItems()).some((item) => item.sandboxId === sandbox.sandboxId));
    // autoResume: envd traffic (a command) resumes it; the background command lived on.
    assert.equal((await sandbox.commands.run('cat /tmp/kept.txt')).stdout, 'started\n');
    assert.equal((await Sandbox.getInfo(sandbox.sandboxId, opts)).state, 'running');
    assert.ok((await sandbox.commands.list()).some((process) => process.pid === loop.pid), 'the background command survived the pause');
    // The resume granted the create's timeout again: it pauses again, and connect resumes it.
    await untilState(sandbox.sandboxId, 'paused');
    const connected = await Sandbox.connect(sandbox.sandboxId, { ...opts, timeoutMs: 60000 });
    assert.equal((await connected.getInfo()).state, 'running');
  });
});

test('lifecycle onTimeout pause: a service restarted after kill -9 still pauses the sandbox at a timeout', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, { timeoutMs: 3000, lifecycle: { onTimeout: 'pause' } }, async (sandbox) => {
    await service.restartAfterKill();
    opts = sdkOptions(service);
    // The deadline was the killed service's; the new one grants the whole timeout again.
    assert.equal((await Sandbox.getInfo(sandbox.sandboxId, opts)).state, 'running');
    await untilState(sandbox.sandboxId, 'paused');
  });
});

test('lifecycle onTimeout pause without memory: the timeout stops it, files stay, connect starts it again', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, { timeoutMs: 1000, lifecycle: { onTimeout: { action: 'pause', keepMemory: false } } }, async (sandbox) => {
    assert.deepEqual((await sandbox.getInfo()).lifecycle, { onTimeout: 'pause', autoResume: false });
    await sandbox.files.write('/tmp/kept.txt', 'on disk');
    await untilState(sandbox.sandboxId, 'paused');
    const connected = await Sandbox.connect(sandbox.sandboxId, { ...opts, timeoutMs: 60000 });
    assert.equal((await connected.getInfo()).state, 'running');
    assert.equal((await connected.commands.run('cat /tmp/kept.txt')).stdout, 'on disk');
  });
  // E2B's own refusals, and ours for a request the SDK would not send.
  await assert.rejects(Sandbox.create({ ...opts, lifecycle: { onTimeout: 'kill', autoResume: true } }), /autoResume/);
  const refused = await service.curl('POST', '/e2b/sandboxes', { headers: [`X-API-Key: ${opts.apiKey}`], validate: false,
    json: { templateID: 'base', autoPause: true, autoPauseMemory: false, autoResume: { enabled: true } } });
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.json.message, /autoResume.*filesystem-only/);
});

test('refusals: unknown templates, a wrong key', async (t) => {
  if (skipWithoutService(t)) return;
  await assert.rejects(Sandbox.create('no-such-template', opts), /no-such-template.*serve\.e2b\.templates/s);
  await assert.rejects(Sandbox.create({ ...opts, apiKey: 'e2b_' + 'ab'.repeat(20) }), /not one of this service's tokens/);
});

test('createSnapshot; Sandbox.create(snapshotId) has its files; listSnapshots pages; deleteSnapshot; tenants see only their own', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    await sandbox.files.write('/tmp/snap.txt', 'from the snapshot');
    // Unique: the suite's runs on other backends and SDKs may take snapshots at the same time.
    const name = `e2b-test-${sandbox.sandboxId}`;
    const named = await sandbox.createSnapshot({ name });
    assert.deepEqual(named.names, [name]);
    await sandbox.files.write('/tmp/snap.txt', 'written after the snapshot');
    const unnamed = await sandbox.createSnapshot();
    assert.deepEqual(unnamed.names, []);
    const ids = [named.snapshotId, unnamed.snapshotId];
    try {
      const all = await sandbox.listSnapshots().nextItems();
      assert.deepEqual(all.map((item) => item.snapshotId).sort(), [...ids].sort());
      const byName = await Sandbox.listSnapshots({ ...opts, name }).nextItems();
      assert.deepEqual(byName.map((item) => item.snapshotId), [named.snapshotId]);
      const pages = Sandbox.listSnapshots({ ...opts, sandboxId: sandbox.sandboxId, limit: 1 });
      const first = await pages.nextItems();
      assert.equal(first.length, 1);
      assert.ok(pages.hasNext, 'a page of 1 of 2 snapshots names the next');
      const second = await pages.nextItems();
      assert.equal(second.length, 1);
      assert.ok(!pages.hasNext, 'the last page names no next');
      assert.deepEqual([...first, ...second].map((item) => item.snapshotId).sort(), [...ids].sort());

      // Another tenant's key neither sees, restores nor deletes the operator's snapshot.
      const alice = { ...opts, apiKey: keys.alice };
      assert.ok(!(await Sandbox.listSnapshots(alice).nextItems()).some((item) => ids.includes(item.snapshotId)));
      await assert.rejects(Sandbox.create(named.snapshotId, alice), /serve\.e2b\.templates/);
      assert.equal(await Sandbox.deleteSnapshot(named.snapshotId, alice), false);

      const restored = await Sandbox.create(named.snapshotId, opts);
      try {
        assert.equal(await restored.files.read('/tmp/snap.txt'), 'from the snapshot');
        assert.equal((await restored.getInfo()).templateId, named.snapshotId);
        assert.equal((await restored.commands.run('echo restored')).stdout, 'restored\n');
      } finally {
        await Sandbox.kill(restored.sandboxId, opts);
      }
    } finally {
      for (const id of ids) {
        const deleted = await Sandbox.deleteSnapshot(id, opts);
        // Said on failure: whether the snapshot was still there (a 404 for a present one, or
        // one removed by someone else; seen once in a full parallel run on docker).
        const listed = deleted ? [] : (await Sandbox.listSnapshots(opts).nextItems()).map((item) => item.snapshotId);
        assert.equal(deleted, true, `deleteSnapshot ${id} answered 404; the snapshots listed now: ${JSON.stringify(listed)}`);
      }
    }
    assert.equal(await Sandbox.deleteSnapshot(named.snapshotId, opts), false, 'a deleted snapshot is gone');
    assert.deepEqual(await sandbox.listSnapshots().nextItems(), []);
    await assert.rejects(Sandbox.create(named.snapshotId, opts), /serve\.e2b\.templates/);
  });
});

test('fork: the copy has the parent\'s files and its own envd token, and is independent after', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    await sandbox.files.write('/tmp/parent.txt', 'before the fork');
    const forks = await sandbox.fork({ timeoutMs: 120000 });
    assert.equal(forks.length, 1);
    const [copy] = forks;
    assert.ok(copy instanceof Sandbox, `the fork failed: ${copy}`);
    try {
      assert.notEqual(copy.sandboxId, sandbox.sandboxId);
      assert.equal(await copy.files.read('/tmp/parent.txt'), 'before the fork');
      await copy.files.write('/tmp/parent.txt', 'changed in the fork');
      await sandbox.files.write('/tmp/after.txt', 'parent only');
      assert.equal(await sandbox.files.read('/tmp/parent.txt'), 'before the fork');
      assert.equal(await copy.files.exists('/tmp/after.txt'), false);
      assert.equal((await copy.commands.run('cat /tmp/parent.txt')).stdout, 'changed in the fork');
      const info = await copy.getInfo();
      assert.ok(info.endAt.getTime() - Date.now() > 60000, 'the fork lives the timeout it was asked for');
      // Listed like its parent, with the parent's metadata and template.
      const listed = (await Sandbox.list(opts).nextItems()).find((item) => item.sandboxId === copy.sandboxId);
      assert.ok(listed, 'Sandbox.list shows the fork');
      assert.equal(listed.templateId, (await sandbox.getInfo()).templateId);
      // envd's token is the fork's own: the parent's is refused for the fork.
      assert.ok(copy.envdAccessToken && copy.envdAccessToken !== sandbox.envdAccessToken);
      const stat = (token) => fetch(`${opts.sandboxUrl}/filesystem.Filesystem/Stat`, {
        method: 'POST', body: JSON.stringify({ path: '/tmp' }),
        headers: { 'content-type': 'application/json', 'e2b-sandbox-id': copy.sandboxId, 'x-access-token': token },
      });
      assert.equal((await stat(sandbox.envdAccessToken)).status, 401, 'the parent\'s envd token opens the fork');
      assert.equal((await stat(copy.envdAccessToken)).status, 200);
    } finally {
      await Sandbox.kill(copy.sandboxId, opts);
    }
  });
});

test('envd: a request needs the sandbox access token', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    const stat = (headers) => fetch(`${opts.sandboxUrl}/filesystem.Filesystem/Stat`, {
      method: 'POST', body: JSON.stringify({ path: '/tmp' }),
      headers: { 'content-type': 'application/json', 'e2b-sandbox-id': sandbox.sandboxId, ...headers },
    });
    const without = await stat({});
    assert.equal(without.status, 401);
    assert.equal((await without.json()).code, 'unauthenticated');
    const wrong = await stat({ 'x-access-token': 'f'.repeat(64) });
    assert.equal(wrong.status, 401);
    const right = await stat({ 'x-access-token': sandbox.envdAccessToken });
    assert.equal(right.status, 200);
    assert.equal((await right.json()).entry.type, 'FILE_TYPE_DIRECTORY');
  });
});

// A server inside the sandbox (busybox nc, one exchange per connection): answers with the
// request line and the headers it got; an upgrade gets 101, then its bytes echoed back.
const headServer = `
cr=$(printf '\\r')
read -r request
head=
upgrade=
while read -r line; do
  line=\${line%"$cr"}
  [ -z "$line" ] && break
  head="$head$line
"
  case "$line" in [Uu]pgrade:*) upgrade=1 ;; esac
done
if [ -n "$upgrade" ]; then
  printf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n'
  exec cat
fi
answer="\${request%"$cr"}
$head"
printf 'HTTP/1.1 200 OK\\r\\ncontent-type: text/plain\\r\\ncontent-length: %s\\r\\nconnection: close\\r\\n\\r\\n%s' "\${#answer}" "$answer"
`;

// A request to the service as a client that resolves getHost's name to it would send it.
function requestByHost(host, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: service.port, path, headers: { host, ...headers } }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('ports: getHost\'s PORT-ID.<domain> and E2b-Sandbox-Port reach a server in the sandbox', async (t) => {
  if (skipWithoutService(t)) return;
  await withSandbox(t, {}, async (sandbox) => {
    await sandbox.files.write('/tmp/head-server.sh', headServer);
    await sandbox.commands.run('busybox nc -ll -p 8080 -e sh /tmp/head-server.sh', { background: true });
    const host = sandbox.getHost(8080);
    assert.equal(host, `8080-${sandbox.sandboxId}.${domain}`, 'the control plane names the service\'s domain');
    const token = { 'e2b-traffic-access-token': sandbox.trafficAccessToken };
    let answer;
    for (let i = 0; i < 100; ++i) {
      answer = await requestByHost(`${host}:${service.port}`, '/some/path?x=1', token);
      if (answer.status !== 502) break;
      await new Promise((resolve) => setTimeout(resolve, 50));  // the server is not listening yet
    }
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /^GET \/some\/path\?x=1 HTTP\/1\.1\n/);
    assert.ok(!answer.body.includes(sandbox.trafficAccessToken), `the token reached the sandbox: ${answer.body}`);

    // E2B_SANDBOX_URL with the sandbox's headers, as E2B's proxy routes them; a service token.
    const byHeaders = await fetch(`${opts.sandboxUrl}/hello?q=2`, {
      headers: { 'e2b-sandbox-id': sandbox.sandboxId, 'e2b-sandbox-port': '8080', 'x-api-key': keys.operator },
    });
    const text = await byHeaders.text();
    assert.equal(byHeaders.status, 200, text);
    assert.match(text, /^GET \/hello\?q=2 HTTP\/1\.1\n/);
    assert.ok(!text.includes(keys.operator), `the key reached the sandbox: ${text}`);

    // An upgrade (a WebSocket's) is relayed both ways.
    await upgradeAndEcho(service.port, `GET /ws HTTP/1.1\r\nHost: ${host}\r\n` +
      `E2b-Traffic-Access-Token: ${sandbox.trafficAccessToken}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
      'ping through the port');

    // Errors: nothing on the port (502, as E2B's proxy), no credential, another tenant's key.
    const closed = await requestByHost(`8081-${sandbox.sandboxId}.${domain}`, '/', token);
    assert.equal(closed.status, 502, closed.body);
    assert.match(JSON.parse(closed.body).message, /port 8081/);
    assert.equal((await requestByHost(host, '/')).status, 401);
    assert.equal((await requestByHost(host, '/', { 'e2b-traffic-access-token': 'f'.repeat(64) })).status, 401);
    assert.equal((await requestByHost(host, '/', { 'x-api-key': keys.alice })).status, 404);
    const envdItself = await fetch(`${opts.sandboxUrl}/health`, {
      headers: { 'e2b-sandbox-id': sandbox.sandboxId, 'e2b-sandbox-port': '49983', 'x-access-token': sandbox.envdAccessToken },
    });
    assert.equal(envdItself.status, 204, 'envd\'s own port is envd');
  });
});

async function poolReady(running, name) {
  const pools = await running.curl('GET', '/v1/pools', { token: tokens.admin });
  assert.equal(pools.status, 200, pools.text);
  return pools.json.find((pool) => pool.name === name).ready;
}

test('a template mapped to a pool: Sandbox.create hands out its ready sandbox with envs, metadata and timeout', async (t) => {
  if (skipWithoutService(t)) return;
  await until('pool e2b-warm to fill', async () => (await poolReady(service, 'e2b-warm')) === 1);
  const members = (await service.backendList()).filter((s) => s.labels['hutch.pool'] === 'e2b-warm').map((s) => s.id);
  assert.equal(members.length, 1, JSON.stringify(members));
  const sandbox = await Sandbox.create('warm', { ...opts, envs: { ASKED: 'at hand-out' }, metadata: { purpose: 'pooled' }, timeoutMs: 120000 });
  try {
    assert.equal(sandbox.sandboxId, members[0], 'the pool\'s ready sandbox was handed out');
    const info = await sandbox.getInfo();
    assert.equal(info.templateId, 'warm');
    assert.deepEqual(info.metadata, { purpose: 'pooled' });
    const ends = info.endAt.getTime() - Date.now();
    assert.ok(ends > 100000 && ends <= 121000, `endAt is ${ends} ms away, expected about 120 s`);
    // The pool's env and the asked one; commands as E2B's user.
    assert.equal((await sandbox.commands.run('echo "$ASKED $POOLED"; id -u')).stdout, 'at hand-out yes\n1000\n');
    const listed = await Sandbox.list({ ...opts, query: { metadata: { purpose: 'pooled' } } }).nextItems();
    assert.deepEqual(listed.map((item) => item.sandboxId), [sandbox.sandboxId]);
    // /v1 shows the hand-out's labels: the sandbox is the taking token's, as one made for it.
    const shown = await service.curl('GET', `/v1/sandboxes/${sandbox.sandboxId}`, { token: tokens.admin });
    assert.equal(shown.json.labels['hutch.token'], 'e2b-operator', JSON.stringify(shown.json.labels));
    assert.equal(shown.json.labels.purpose, 'pooled');
    await until('pool e2b-warm to refill', async () => (await poolReady(service, 'e2b-warm')) === 1);
  } finally {
    assert.equal(await Sandbox.kill(sandbox.sandboxId, opts), true);
  }
});

test('E2B creates follow /v1\'s rules: the per-token sandbox cap (pool hand-outs too), events, metrics, the stream cap', async (t) => {
  if (skipWithoutService(t)) return;
  const capped = await startService(`max_sandboxes_per_token = 2\nmax_streams_per_token = 1\n` +
    `[serve.e2b.templates]\nbase = "${images[env.backend]}"\nwarm = { pool = "capped-warm" }\n` +
    `[serve.pools.capped-warm]\nsize = 1\nimage = "${images[env.backend]}"\n`);
  const cappedOpts = sdkOptions(capped);
  const events = await EventStream.open(capped, { token: tokens.admin });
  try {
    assert.equal(events.status, 200, events.text);
    await until('pool capped-warm to fill', async () => (await poolReady(capped, 'capped-warm')) === 1);
    const made = await Sandbox.create(cappedOpts);
    const pooled = await Sandbox.create('warm', cappedOpts);
    await assert.rejects(Sandbox.create(cappedOpts), (error) => {
      assert.ok(error instanceof RateLimitError, `${error}`);
      assert.match(error.message, /max_sandboxes_per_token = 2 reached: 2 sandboxes held by token 'e2b-operator'/);
      return true;
    });
    // The same token through /v1 is held to the same count.
    const v1 = await capped.curl('POST', '/v1/sandboxes', { token: keys.operator, json: {} });
    assert.equal(v1.status, 429, v1.text);

    // Both announced as "created", labelled as the token's, as /v1's creates are.
    await events.until('both created', (all) => [made.sandboxId, pooled.sandboxId].every(
      (id) => all.some((e) => e.event === 'created' && e.data.sandbox === id)));
    for (const [sandbox, template] of [[made, 'base'], [pooled, 'warm']]) {
      const created = events.of(sandbox.sandboxId).find((e) => e.event === 'created');
      assert.equal(created.data.labels['hutch.token'], 'e2b-operator', JSON.stringify(created.data));
      assert.equal(created.data.labels['e2b.template'], template, JSON.stringify(created.data));
    }
    assert.equal(events.of(pooled.sandboxId).find((e) => e.event === 'created').data.details.pool, 'capped-warm');
    const metrics = (await capped.fetch('GET', '/metrics', { token: tokens.admin })).text;
    for (const from of ['backend', 'pool']) {
      const line = metrics.split('\n').find((l) => l.startsWith('hutch_create_seconds_count{') && l.includes(`from="${from}"`) &&
        l.includes(`backend="${env.backend}"`));
      assert.ok(line && Number(line.split(' ').at(-1)) === 1, `hutch_create_seconds_count from ${from}: ${line}`);
    }

    // envd's streams count under the stream cap of the token that created the sandbox.
    const background = await made.commands.run('sleep 60', { background: true });
    await assert.rejects(made.commands.run('true'), (error) => {
      assert.ok(error instanceof RateLimitError, `${error}`);
      assert.match(error.message, /max_streams_per_token = 1/);
      return true;
    });
    assert.equal(await made.commands.kill(background.pid), true);
    await until('the stream to end', async () => (await made.commands.run('echo free').catch(() => null))?.stdout === 'free\n', 10000);

    await Sandbox.kill(made.sandboxId, cappedOpts);
    await events.until('destroyed', () => events.of(made.sandboxId).some((e) => e.event === 'destroyed'));
    await Sandbox.kill(pooled.sandboxId, cappedOpts);
  } finally {
    events.close();
    await capped.stop();
  }
});

test('unknown routes answer in E2B\'s error format, and in Connect\'s for envd\'s RPC paths', async (t) => {
  if (skipWithoutService(t)) return;
  const api = opts.apiUrl;
  const unknown = await fetch(`${api}/no/such/route`, { headers: { 'x-api-key': keys.operator } });
  assert.equal(unknown.status, 404);
  const body = await unknown.json();
  assert.equal(body.code, 404, JSON.stringify(body));
  assert.match(body.message, /no route GET \/e2b\/no\/such\/route/);
  // Without a key, the key is what is wrong.
  const anonymous = await fetch(`${api}/no/such/route`);
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).code, 401);
  const wrongMethod = await fetch(`${api}/sandboxes`, { method: 'PUT', headers: { 'x-api-key': keys.operator } });
  assert.equal((await wrongMethod.json()).code, 404);

  // envd: a Connect path, unary and streaming; any other path as envd's HTTP API answers.
  const unary = await fetch(`${opts.sandboxUrl}/process.Process/NoSuchMethod`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(unary.status, 501);
  const connectError = await unary.json();
  assert.equal(connectError.code, 'unimplemented', JSON.stringify(connectError));
  assert.match(connectError.message, /process\.Process\/NoSuchMethod/);
  const message = Buffer.from('{}');
  const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
  const streaming = await fetch(`${opts.sandboxUrl}/filesystem.Filesystem/NoSuchStream`, {
    method: 'POST', headers: { 'content-type': 'application/connect+json' }, body: envelope,
  });
  assert.equal(streaming.status, 200);
  const frame = Buffer.from(await streaming.arrayBuffer());
  assert.equal(frame[0], 2, 'an end-stream envelope');
  assert.equal(JSON.parse(frame.subarray(5).toString()).error.code, 'unimplemented');
  const other = await fetch(`${opts.sandboxUrl}/no-such-thing`);
  assert.equal(other.status, 404);
  assert.equal((await other.json()).code, 404);
});

test('Sandbox.create to the first commands.run: p50', async (t) => {
  if (skipWithoutService(t)) return;
  const times = [];
  for (let i = 0; i < 8; ++i) {
    const started = performance.now();
    const sandbox = await Sandbox.create(opts);
    await sandbox.commands.run('true');
    times.push(performance.now() - started);
    await sandbox.kill();
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)];
  t.diagnostic(`${sdkName} on ${env.backend}: Sandbox.create -> commands.run('true') p50 ${p50.toFixed(1)} ms (n=${times.length}, min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)})`);
  assert.ok(p50 < 10000);
});
