// What `hutch serve` refuses at start, and the files it makes: plain TCP off loopback, TCP
// without tokens, a bad tokens file, a live socket; the socket 0660 in a 0750 directory.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, statSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Service, env } from './service_fixture.mjs';

const run = promisify(execFile);

// Runs `hutch serve ARGS` expecting it to refuse: exit 125 and one "hutch: " line with `needle`.
async function refused(args, needle, { tokens, config = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hutch-serve-refusal-'));
  try {
    writeFileSync(join(dir, 'hutch.toml'), `[defaults]\nbackend = "fake"\nstate_dir = "${dir}/state"\n[plugins]\npaths = ["${env.testPlugins}"]\n${config}`);
    if (tokens !== undefined) writeFileSync(join(dir, 'tokens'), tokens.text, { mode: tokens.mode ?? 0o600 });
    if (tokens?.mode !== undefined) chmodSync(join(dir, 'tokens'), tokens.mode);
    const full = ['--config', join(dir, 'hutch.toml'), 'serve', ...args.map((a) => a.replace('TOKENS', join(dir, 'tokens')))];
    const error = await run(env.hutch, full, { timeout: 20000 }).then(() => null, (e) => e);
    assert.ok(error, `hutch serve ${args.join(' ')} started instead of refusing`);
    assert.equal(error.code, 125, error.stderr);
    const lines = error.stderr.trim().split('\n');
    assert.equal(lines.length, 1, error.stderr);
    assert.match(lines[0], /^hutch: /);
    assert.ok(lines[0].includes(needle), `'${needle}' not in: ${lines[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const goodTokens = { text: 'ops 0123456789abcdef-ops\n' };

describe('hutch serve at start', () => {
  it('shows the service\'s own options for --help', async () => {
    const { stdout } = await run(env.hutch, ['serve', '--help']);
    for (const option of ['--listen', '--tokens-file', '--config']) assert.ok(stdout.includes(option), stdout);
  });

  it('refuses plain TCP on a non-loopback address', () =>
    refused(['--listen', 'tcp://0.0.0.0:0', '--tokens-file', 'TOKENS'], 'non-loopback', { tokens: goodTokens }));

  it('refuses TCP without tokens', () => refused(['--listen', 'tcp://127.0.0.1:0'], 'TCP needs tokens'));

  it('refuses a malformed listen address', () => refused(['--listen', 'http://127.0.0.1:80'], 'unknown scheme'));

  it('refuses an E2B domain with a port', () =>
    refused([], 'domain: expected a host name without port', { config: '[serve.e2b]\ndomain = "sbx.example.com:8080"\n' }));

  it('refuses an E2B template mapped to a pool that is not configured, or to neither an image nor a pool', async () => {
    await refused([], 'serve.e2b.templates.warm.pool: no [serve.pools.missing]',
      { config: '[serve.e2b.templates]\nwarm = { pool = "missing" }\n' });
    await refused([], 'expected the image of E2B template \'base\' or { pool = "NAME" }',
      { config: '[serve.e2b.templates]\nbase = 3\n' });
    await refused([], 'serve.e2b.templates.warm.image',
      { config: '[serve.pools.p]\nsize = 0\n[serve.e2b.templates]\nwarm = { pool = "p", image = "x" }\n' });
  });

  it('refuses a tokens file others can read, a short token, a bad line', async () => {
    await refused(['--listen', 'tcp://127.0.0.1:0', '--tokens-file', 'TOKENS'], 'open to other users',
      { tokens: { ...goodTokens, mode: 0o644 } });
    await refused(['--tokens-file', 'TOKENS', '--listen', 'tcp://127.0.0.1:0'], 'shorter than 16', { tokens: { text: 'ops short\n' } });
    await refused(['--tokens-file', 'TOKENS', '--listen', 'tcp://127.0.0.1:0'], 'tokens:2: expected tenant=VALUE',
      { tokens: { text: '# ok\nops 0123456789abcdef-ops team=x\n' } });
  });

  it('makes its socket 0660 in a 0750 directory, refuses a second service on it, and removes it on SIGTERM', async () => {
    const service = await Service.start();
    try {
      assert.equal(statSync(service.socket).mode & 0o777, 0o660);
      assert.equal(statSync(join(service.dir, 'run')).mode & 0o777, 0o750);
      await refused(['--listen', `unix://${service.socket}`], 'already listening');
    } finally {
      await service.stop();
    }
  });

  it('serves the socket systemd passes (LISTEN_FDS) instead of making its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hutch-serve-activation-'));
    const socket = join(dir, 'activated.sock');
    try {
      writeFileSync(join(dir, 'hutch.toml'), `[defaults]\nbackend = "fake"\nstate_dir = "${dir}/state"\n[plugins]\npaths = ["${env.testPlugins}"]\n`);
      // systemd's own tool: it listens, and on the first connection execs the service with
      // LISTEN_FDS=1 and LISTEN_PID set, as a .socket unit would.
      const activator = spawn('systemd-socket-activate', ['-l', socket, env.hutch, '--config', join(dir, 'hutch.toml'), 'serve'],
        { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      activator.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise((resolve) => activator.on('exit', (code, signal) => resolve(code ?? signal)));
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
      const { stdout } = await run('curl', ['-sS', '--max-time', '20', '--unix-socket', socket, 'http://localhost/healthz']);
      assert.deepEqual(JSON.parse(stdout), { status: 'ok' });
      assert.match(stderr, /listening on socket activation: fd 3/);
      assert.ok(!existsSync(join(dir, 'run')), 'it made a socket of its own');
      activator.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a stale socket file that nobody answers on', async () => {
    const first = await Service.start();
    first.process.kill('SIGKILL');  // leaves its socket file behind
    await first.exited;
    const dir = mkdtempSync(join(tmpdir(), 'hutch-serve-stale-'));
    try {
      writeFileSync(join(dir, 'hutch.toml'), `[defaults]\nbackend = "fake"\nstate_dir = "${dir}/state"\n[plugins]\npaths = ["${env.testPlugins}"]\n`);
      assert.ok(statSync(first.socket).isSocket());
      const second = spawn(env.hutch, ['--config', join(dir, 'hutch.toml'), 'serve', '--listen', `unix://${first.socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      await new Promise((resolve, reject) => {
        second.stderr.on('data', (d) => { stderr += d; if (stderr.includes('listening on')) resolve(); });
        second.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const { stdout } = await run('curl', ['-sS', '--unix-socket', first.socket, 'http://localhost/healthz']);
      assert.deepEqual(JSON.parse(stdout), { status: 'ok' });
      second.kill('SIGTERM');
      await new Promise((resolve) => second.on('exit', resolve));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(first.dir, { recursive: true, force: true });
    }
  });
});
