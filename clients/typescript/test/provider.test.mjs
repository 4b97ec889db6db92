// The TanStack AI provider (hutch-sandbox/tanstack) against a real `hutch serve`: every method of
// the provider and of its handles, a second client resuming, snapshot -> restoreSnapshot, fork
// independence, AbortSignal, and an end-to-end run through TanStack's own defineSandbox
// (resume-or-restore-or-create, workspace bootstrap with a setup shell fed over stdin).
// Commands are shell strings, as TanStack's are: this suite needs a backend with a real shell.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { defineSandbox, defineWorkspace, fileSkill } from '@tanstack/ai-sandbox';
import { HutchClient, HutchError } from '../dist/index.js';
import { hutchSandbox, kInstanceKeyLabel } from '../dist/tanstack.js';
import { Service, env, skipReason, image, overTcp, overSocket } from './fixture.mjs';

const skip = await skipReason();
// Known: the docker backend's snapshot (docker commit) does not hold the /workspace volume, so a
// restored sandbox has an empty workspace. Run, reported as todo there until that is fixed.
const workspaceSnapshots = env.backend === 'docker' && 'docker snapshots do not hold the /workspace volume (docker commit skips volumes)';

async function collect(chunks) {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe(`hutchSandbox on ${env.backend}`, { skip }, () => {
  let service;
  let provider;   // over the Unix socket
  let remote;     // a second client, over TCP with a token
  let handle;
  before(async () => {
    service = await Service.start();
    provider = await hutchSandbox({ ...overSocket(service), backend: env.backend, image, env: { FROM_PROVIDER: 'p' } });
    remote = await hutchSandbox({ ...overTcp(service), backend: env.backend, image });
    handle = await provider.create({ id: 'thread-1-key', env: { FROM_INPUT: 'i' } });
  });
  after(async () => {
    if (provider) for (const snapshot of await provider.client.listSnapshots()) await provider.client.deleteSnapshot(snapshot.id);
    provider?.client.close();
    remote?.client.close();
    await service?.stop();
  });

  it('reports the backend\'s capabilities truthfully', async () => {
    const [backend] = (await provider.client.backends()).filter((one) => one.name === env.backend);
    const caps = provider.capabilities();
    assert.equal(provider.name, 'hutch');
    assert.deepEqual(caps, {
      fs: true, exec: true, env: true, backgroundProcesses: true, networkPolicy: false,
      ports: false,  // over a Unix socket no URL reaches the port proxy
      writableStdin: backend.capabilities.stdin,
      snapshots: backend.capabilities.snapshot,
      durableFilesystem: backend.capabilities.persistent && backend.capabilities.stop,
      fork: backend.capabilities.fork,
    });
    assert.deepEqual(handle.capabilities, caps);
    await assert.rejects(hutchSandbox({ ...overSocket(service), backend: 'nope' }), /no backend 'nope'/);
  });

  it('create: env, the instance key as a label, the workspace as working directory', async () => {
    assert.equal(handle.provider, 'hutch');
    assert.equal(handle.workspaceRoot, '/workspace');
    const sandbox = await provider.client.getSandbox(handle.id);
    assert.equal(sandbox.labels[kInstanceKeyLabel], 'thread-1-key');
    const result = await handle.process.exec('echo "$FROM_PROVIDER $FROM_INPUT $(pwd)"; echo err >&2; exit 4');
    assert.deepEqual(result, { stdout: 'p i /workspace\n', stderr: 'err\n', exitCode: 4 });
  });

  it('fs: write (making parents), read, readBytes, list, mkdir, exists, rename, remove', async () => {
    await handle.fs.write('notes/deep/a.txt', 'hello');
    await handle.fs.write('/workspace/bin.dat', new Uint8Array([0, 1, 2, 255]));
    assert.equal(await handle.fs.read('notes/deep/a.txt'), 'hello');
    assert.deepEqual([...await handle.fs.readBytes('bin.dat')], [0, 1, 2, 255]);
    await handle.fs.mkdir('empty/dir');
    assert.deepEqual(await handle.fs.list('/workspace'), [
      { name: 'bin.dat', path: '/workspace/bin.dat', type: 'file' },
      { name: 'empty', path: '/workspace/empty', type: 'dir' },
      { name: 'notes', path: '/workspace/notes', type: 'dir' },
    ]);
    assert.equal(await handle.fs.exists('notes/deep/a.txt'), true);
    await handle.fs.rename('notes/deep/a.txt', 'moved.txt');
    assert.equal(await handle.fs.exists('notes/deep/a.txt'), false);
    assert.equal((await handle.process.exec('cat moved.txt')).stdout, 'hello');
    await handle.fs.remove('notes');
    await handle.fs.remove('empty');
    assert.equal(await handle.fs.exists('notes'), false);
    await assert.rejects(handle.fs.read('nothing-here'), (error) => error instanceof HutchError && error.code === 'not_found');
  });

  it('process.spawn: stdout/stderr as text, stdin written and closed, exit code', async () => {
    const proc = await handle.process.spawn('while read l; do echo "[$l]"; done; echo bye >&2; exit 7', { env: { X: '1' } });
    assert.equal(typeof proc.pid, 'number');
    await proc.stdin.write('a\n');
    await proc.stdin.write('b\n');
    await proc.stdin.end();
    const [stdout, stderr, code] = await Promise.all([collect(proc.stdout), collect(proc.stderr), proc.wait()]);
    assert.equal(stdout, '[a]\n[b]\n');
    assert.equal(stderr, 'bye\n');
    assert.equal(code, 7);
  });

  it('process.spawn: kill ends it with 128 + signal', async () => {
    const proc = await handle.process.spawn('echo up; exec sleep 60');
    const out = proc.stdout[Symbol.asyncIterator]();
    assert.equal((await out.next()).value, 'up\n');
    await proc.kill('SIGTERM');
    assert.equal(await proc.wait(), 128 + 15);
  });

  it('AbortSignal ends exec and spawn', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await assert.rejects(handle.process.exec('sleep 60', { signal: controller.signal }), (error) => error.code === 'aborted');
    assert.ok(Date.now() - started < 10000);
    const spawnAbort = new AbortController();
    const proc = await handle.process.spawn('sleep 60', { signal: spawnAbort.signal });
    spawnAbort.abort();
    await assert.rejects(proc.wait(), (error) => error.code === 'aborted');
    const signalled = await handle.process.exec('echo fine', { signal: new AbortController().signal });
    assert.equal(signalled.stdout, 'fine\n');
    const ps = await handle.process.exec('ps -o args 2>/dev/null || for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done');
    assert.ok(!ps.stdout.includes('sleep 60'), ps.stdout);
  });

  it('env.set applies to later commands, kept with the sandbox for every client', async () => {
    await handle.env.set({ LATER: 'set' });
    assert.equal((await handle.process.exec('echo $LATER')).stdout, 'set\n');
    // Another client of the same sandbox sees it too: the service keeps it, not this handle.
    const other = await remote.client.exec(handle.id, { argv: ['sh', '-c', 'echo "$LATER"'] });
    assert.equal(other.stdout, 'set\n');
    const proc = await handle.process.spawn('echo $LATER');
    assert.equal(await collect(proc.stdout), 'set\n');
  });

  it('git goes through exec (git-exec from @tanstack/ai-sandbox)', async () => {
    // A git that records its arguments: what TanStack's exec-backed git runs, run for real.
    await handle.fs.write('/tmp/fakebin/git', '#!/bin/sh\necho "git $*" >> /tmp/git.log\n[ "$1" = -C ] && shift 2\n[ "$1" = rev-parse ] && echo main\nexit 0\n');
    await handle.process.exec('chmod +x /tmp/fakebin/git');
    await handle.env.set({ PATH: '/tmp/fakebin:/usr/local/bin:/usr/bin:/bin' });
    assert.equal(await handle.git.branch(), 'main');
    await handle.git.add(['a.txt']);
    await handle.git.commit('a message');
    const log = await handle.fs.read('/tmp/git.log');
    assert.match(log, /git .*rev-parse/);
    assert.match(log, /git .*add -- a\.txt/);
    assert.match(log, /git .*commit .*a message/);
  });

  it('ports.connect: refused over a Unix socket, saying why', async () => {
    await assert.rejects(handle.ports.connect(8080), /Unix socket/);
  });

  it('resume from a second client; null for a gone sandbox', async () => {
    await handle.fs.write('shared.txt', 'seen by both');
    const again = await remote.resume({ id: handle.id });
    assert.ok(again);
    assert.equal(again.id, handle.id);
    assert.equal(await again.fs.read('shared.txt'), 'seen by both');
    assert.equal(await remote.resume({ id: 'no-such-sandbox' }), null);
  });

  it('snapshot -> restoreSnapshot: a new sandbox with the files', { todo: workspaceSnapshots }, async () => {
    await handle.fs.write('state.txt', 'before snapshot');
    const ref = await handle.snapshot('provider-test');
    assert.equal(ref.label, 'provider-test');
    await handle.fs.write('state.txt', 'after snapshot');
    const restored = await provider.restoreSnapshot({ snapshotId: ref.id, env: { RESTORED: 'yes' } });
    assert.notEqual(restored.id, handle.id);
    assert.equal(await restored.fs.read('state.txt'), 'before snapshot');
    assert.equal((await restored.process.exec('echo $RESTORED')).stdout, 'yes\n');
    await restored.destroy();
  });

  it('fork: an independent copy', async () => {
    await handle.fs.write('fork.txt', 'parent');
    const child = await handle.fork();
    assert.equal(await child.fs.read('fork.txt'), 'parent');
    await child.fs.write('fork.txt', 'child');
    await handle.fs.write('only-parent.txt', 'x');
    assert.equal(await handle.fs.read('fork.txt'), 'parent');
    assert.equal(await child.fs.exists('only-parent.txt'), false);
    await provider.destroy({ id: child.id });
    assert.equal(await provider.resume({ id: child.id }), null);
  });

  it('destroy: the handle\'s and the provider\'s, idempotent', async () => {
    const other = await provider.create({});
    await other.destroy();
    await other.destroy();
    await provider.destroy({ id: other.id });
    assert.equal(await provider.resume({ id: other.id }), null);
  });

  it('end to end through TanStack\'s defineSandbox: create + bootstrap, resume, restore', { todo: workspaceSnapshots }, async () => {
    const definition = defineSandbox({
      id: 'hutch-e2e',
      provider,
      workspace: defineWorkspace({
        source: { type: 'none' },
        instructions: 'Be brief.',
        skills: [fileSkill({ path: 'skills/hello.md', content: 'hi' })],
        setup: ['echo set-up > setup.txt'],
      }),
    });
    const ctx = { threadId: 'thread-e2e', runId: 'run-1' };
    const first = await definition.ensure(ctx);
    assert.equal(await first.fs.read('setup.txt'), 'set-up\n');
    assert.equal(await first.fs.read('skills/hello.md'), 'hi');
    assert.ok((await first.fs.read('AGENTS.md')).includes('Be brief.'));
    const second = await definition.ensure({ ...ctx, runId: 'run-2' });
    assert.equal(second.id, first.id, 'the thread\'s sandbox was not resumed');
    // Gone behind TanStack's back: ensure restores the after-setup snapshot.
    await provider.client.deleteSandbox(first.id);
    const third = await definition.ensure({ ...ctx, runId: 'run-3' });
    assert.notEqual(third.id, first.id);
    assert.equal(await third.fs.read('setup.txt'), 'set-up\n');
    await definition.destroy(ctx);
    assert.equal(await provider.resume({ id: third.id }), null);
  });
});
