// Every bench target of the service (issue 15, "Targets") in one run, each with its peer:
//   node bench/serve.mjs BUILD_DIR        (bench/serve.sh is the entry point; it checks the tools)
// Environment (defaults in brackets):
//   ROUNDS [200]           samples of each latency (hand-out, exec round trip)
//   CLI_ROUNDS [50]        samples of `hutch --host … run --pool` and of bwrap
//   CLIENTS [200]          concurrent clients of the create/exec/destroy load
//   DURATION [60]          seconds of that load
//   IDLE [1000]            idle sandboxes held by the service for its RSS
//   STREAM_MIB [1024]      MiB of stdout streamed over the WebSocket
//   ONLY                   comma-separated subset: handout,exec,cli,load,idle,stream
// Starts one `hutch serve` on the subcontainer backend in a scratch directory, listening on a
// Unix socket, with a pool `bench` (size 4, image "host"); measures, prints one line per figure
// (measured, target, ratio or verdict) and a summary; then stops the service with SIGTERM (its
// pool's ready sandboxes go with it), checks that nothing it made is left, and removes the
// scratch directory.
//
// Server-side times come from the `Server-Timing: handler;dur=MS` header the service adds to
// every whole response (server/router.cpp): from the moment a worker takes the request to its
// answer. Client-side times are node's, over one kept-alive connection per client.
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// The WebSocket client the API tests use (tests/server/package.json, `npm ci` there).
const WebSocket = createRequire(join(here, '../tests/server/package.json'))('ws');

const build = resolve(process.argv[2] ?? 'build');
const setting = (name, fallback) => Number(process.env[name] ?? fallback);
const rounds = setting('ROUNDS', 200);
const cliRounds = setting('CLI_ROUNDS', 50);
const clients = setting('CLIENTS', 200);
const duration = setting('DURATION', 60);
const idleCount = setting('IDLE', 1000);
const streamMiB = setting('STREAM_MIB', 1024);
const only = process.env.ONLY ? new Set(process.env.ONLY.split(',')) : null;
const wanted = (name) => !only || only.has(name);

const dir = mkdtempSync(join(tmpdir(), 'hutch-serve-bench-'));
chmodSync(dir, 0o711);
const socket = join(dir, 'hutch.sock');
const config = join(dir, 'hutch.toml');
const stateDir = join(dir, 'state');
writeFileSync(config, `[defaults]\nbackend = "subcontainer"\nstate_dir = "${stateDir}"\n[plugins]\npaths = ["${build}/plugins"]\n` +
  '[serve.pools.bench]\nsize = 4\nmax_age = "1h"\nimage = "host"\n');

// --- helpers --------------------------------------------------------------------------------
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function call(agent, method, path, body) {
  return new Promise((done, fail) => {
    const request = http.request({ socketPath: socket, method, path, agent, headers: { 'content-type': 'application/json' } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const timing = /handler;dur=([0-9.]+)/.exec(response.headers['server-timing'] ?? '');
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        done({ status: response.statusCode, json, text, serverMs: timing ? Number(timing[1]) : undefined });
      });
    });
    request.on('error', fail);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
const keptAlive = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
const main = keptAlive();
async function expect(status, promise, what) {
  const answer = await promise;
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${answer.text}`);
  return answer;
}

async function poolFull() {
  for (;;) {
    const pools = await call(main, 'GET', '/v1/pools');
    const pool = pools.json.find((p) => p.name === 'bench');
    if (pool.ready === pool.size) return;
    await sleep(10);
  }
}
const listed = async () => (await expect(200, call(main, 'GET', '/v1/sandboxes'), 'list')).json.length;
async function drained(timeoutMs = 120000) {
  const until = now() + timeoutMs;
  while (now() < until) {
    if ((await listed()) === 0 && removalsDone()) return true;
    await sleep(100);
  }
  return false;
}
// The subcontainer backend's sandbox records (pool sandboxes included) under the state dir.
function records() {
  const sandboxes = join(stateDir, 'subcontainer', 'sandboxes');
  return existsSync(sandboxes) ? readdirSync(sandboxes) : [];
}
const poolSize = 4;
const removalsDone = () => records().length <= poolSize;

let servicePid;
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${servicePid}/status`, 'utf8'))[1]);
const fdCount = () => readdirSync(`/proc/${servicePid}/fd`).length;

// --- the report -----------------------------------------------------------------------------
const rows = [];
// `better`: "lower" or "higher"; `target` a number in `unit`, or a ratio when `ratioOf` is given.
function report(name, value, unit, { target, better = 'lower', peer, peerName, ratioTarget, note } = {}) {
  const row = { name, value, unit, target, better, peer, peerName, ratioTarget, note };
  if (peer !== undefined) row.ratio = value / peer;
  const meets = (v, t) => (better === 'lower' ? v <= t : v >= t);
  row.met = ratioTarget !== undefined ? meets(row.ratio, ratioTarget) : target !== undefined ? meets(value, target) : undefined;
  rows.push(row);
  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
  let line = `${name.padEnd(52)} ${fmt(value).padStart(8)} ${unit.padEnd(5)}`;
  if (target !== undefined) line += ` target ${better === 'lower' ? '<=' : '>='} ${target} ${unit}`;
  if (peer !== undefined) line += ` | ${peerName} ${fmt(peer)} ${unit}, ratio ${row.ratio.toFixed(2)}` +
    (ratioTarget !== undefined ? ` (target ${better === 'lower' ? '<=' : '>='} ${ratioTarget})` : '');
  if (row.met !== undefined) line += row.met ? '  MET' : '  NOT MET';
  if (note) line += `  [${note}]`;
  console.log(line);
}

// --- in-process peers (before the service runs, so they share nothing with it) -------------
function inProcess(filter) {
  const bench = join(build, 'bin/hutch_bench_subcontainer');
  const run = spawnSync(bench, [`--benchmark_filter=${filter}`, '--benchmark_format=json'], {
    encoding: 'utf8', env: { ...process.env, HUTCH_BENCH_STATE_DIR: join(dir, 'bench-state') },
  });
  if (run.status !== 0) throw new Error(`${bench}: ${run.stderr}`);
  return JSON.parse(run.stdout).benchmarks[0];
}

// --- the pieces -----------------------------------------------------------------------------
async function handout() {
  const server = [], client = [];
  for (let i = 0; i < rounds; ++i) {
    await poolFull();
    const start = now();
    const created = await expect(201, call(main, 'POST', '/v1/sandboxes', { pool: 'bench' }), 'pool hand-out');
    client.push(now() - start);
    server.push(created.serverMs);
    await expect(204, call(main, 'DELETE', `/v1/sandboxes/${created.json.id}`), 'delete');
  }
  const floor = [];
  for (let i = 0; i < rounds; ++i) {
    const start = now();
    await call(main, 'GET', '/healthz');
    floor.push(now() - start);
  }
  report('pool hand-out in the service p50 (Server-Timing)', percentile(server, 50), 'ms', { target: 1 });
  report('pool hand-out in the service p99 (Server-Timing)', percentile(server, 99), 'ms', { target: 5 });
  report('POST /v1/sandboxes {pool} over the socket p50', percentile(client, 50), 'ms', { target: 2,
    note: `p99 ${percentile(client, 99).toFixed(2)} ms; GET /healthz p50 ${percentile(floor, 50).toFixed(2)} ms` });
}

async function execRoundTrip(peerP50) {
  const created = await expect(201, call(main, 'POST', '/v1/sandboxes', { image: 'host' }), 'create');
  const samples = [], server = [];
  try {
    for (let i = 0; i < 10; ++i) await call(main, 'POST', `/v1/sandboxes/${created.json.id}/exec`, { argv: ['true'] });
    for (let i = 0; i < rounds; ++i) {
      const start = now();
      const answer = await expect(200, call(main, 'POST', `/v1/sandboxes/${created.json.id}/exec`, { argv: ['true'] }), 'exec');
      samples.push(now() - start);
      server.push(answer.serverMs);
      if (answer.json.exit_code !== 0) throw new Error(`exec true: ${answer.text}`);
    }
  } finally {
    await call(main, 'DELETE', `/v1/sandboxes/${created.json.id}`);
  }
  report('exec true round trip over the socket p50', percentile(samples, 50), 'ms', {
    peer: peerP50, peerName: 'in-process Handle::exec', ratioTarget: 1.3,
    note: `p99 ${percentile(samples, 99).toFixed(2)} ms; in the service p50 ${percentile(server, 50).toFixed(2)} ms` });
}

// Wall time of `argv`, `cliRounds` runs from a shell (bench/time_runs.sh), `before` untimed
// before each.
function timeCommand(argv, env, before = '') {
  const run = spawnSync('bash', [join(here, 'time_runs.sh'), String(cliRounds), before, '--', ...argv], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${argv.join(' ')}: ${run.stderr}`);
  return run.stdout.trim().split('\n').map(Number);
}

function cli() {
  const env = { ...process.env, HUTCH_PLUGIN_PATH: join(build, 'plugins') };
  delete env.HUTCH_HOST;
  // A full pool before each run: the run is timed as a hand-out, not as a fallback create.
  const poolFull = `until curl -s --unix-socket ${socket} http://localhost/v1/pools | grep -q '"ready":4'; do sleep 0.01; done`;
  const ours = timeCommand([join(build, 'bin/hutch'), '--host', `unix://${socket}`, 'run', '--pool', 'bench', '--', 'true'], env, poolFull);
  const bwrap = timeCommand(['bwrap', '--unshare-all', '--die-with-parent', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/sbin', '/sbin',
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true'], env);
  const floor = timeCommand(['/bin/true'], env);
  // Where the run's time goes: the client's start-up alone, then with the remote plugin loaded
  // and one request (a list) answered; the rest is the hand-out, the exec and the delete.
  const version = timeCommand([join(build, 'bin/hutch'), '--help'], env);
  const list = timeCommand([join(build, 'bin/hutch'), '--host', `unix://${socket}`, 'ls'], env);
  report('hutch --host unix://… run --pool bench -- true p50', percentile(ours, 50), 'ms', {
    peer: percentile(bwrap, 50), peerName: 'bwrap --unshare-all true', ratioTarget: 0.7,
    note: `/bin/true run the same way ${percentile(floor, 50).toFixed(2)} ms; hutch --help ` +
      `${percentile(version, 50).toFixed(2)} ms; hutch --host … ls ${percentile(list, 50).toFixed(2)} ms` });
}

async function load() {
  // Warm the service up (threads, allocator) before its baseline.
  for (let i = 0; i < 4; ++i) {
    const created = await expect(201, call(main, 'POST', '/v1/sandboxes', { image: 'host' }), 'create');
    await expect(200, call(main, 'POST', `/v1/sandboxes/${created.json.id}/exec`, { argv: ['true'] }), 'exec');
    await expect(204, call(main, 'DELETE', `/v1/sandboxes/${created.json.id}`), 'delete');
  }
  await drained();
  const rss0 = rssKiB(), fds0 = fdCount();
  const cycles = [], errors = [];
  let done = 0;
  const until = now() + duration * 1000;
  async function client() {
    const agent = keptAlive();
    try {
      while (now() < until) {
        const start = now();
        try {
          const created = await expect(201, call(agent, 'POST', '/v1/sandboxes', { image: 'host' }), 'create');
          const ran = await expect(200, call(agent, 'POST', `/v1/sandboxes/${created.json.id}/exec`, { argv: ['true'] }), 'exec');
          if (ran.json.exit_code !== 0) throw new Error(`exec true: ${ran.text}`);
          await expect(204, call(agent, 'DELETE', `/v1/sandboxes/${created.json.id}`), 'delete');
          cycles.push(now() - start);
          ++done;
        } catch (error) {
          errors.push(error.message);
        }
      }
    } finally {
      agent.destroy();
    }
  }
  const rssPeak = { value: rss0 };
  const watch = setInterval(() => { rssPeak.value = Math.max(rssPeak.value, rssKiB()); }, 500);
  await Promise.all(Array.from({ length: clients }, client));
  clearInterval(watch);
  const clean = await drained();
  // Removal ends in the background; its descriptors close with it.
  let fds1 = fdCount();
  for (let i = 0; i < 100 && fds1 > fds0; ++i) { await sleep(100); fds1 = fdCount(); }
  const rss1 = rssKiB();
  const left = await listed();
  report(`${clients} clients create/exec/destroy ${duration} s: cycle p50`, percentile(cycles, 50), 'ms', {
    note: `${done} cycles, ${(done / duration).toFixed(1)}/s` });
  report(`${clients} clients create/exec/destroy ${duration} s: cycle p99`, percentile(cycles, 99), 'ms', { note: 'stated, no target' });
  report(`${clients} clients: errors`, errors.length, '', { target: 0, note: errors.slice(0, 3).join(' | ') });
  report(`${clients} clients: sandboxes left (listed + records)`, left + Math.max(0, records().length - poolSize), '', {
    target: 0, note: clean ? 'drained' : 'not drained within 120 s' });
  report(`${clients} clients: service fds after - before`, fds1 - fds0, '', { target: 0, note: `${fds0} before` });
  report(`${clients} clients: service RSS after - before`, (rss1 - rss0) / 1024, 'MiB', {
    note: `before ${(rss0 / 1024).toFixed(1)}, peak ${(rssPeak.value / 1024).toFixed(1)}, after ${(rss1 / 1024).toFixed(1)} MiB` });
}

async function idle() {
  await drained();
  const rss0 = rssKiB();
  const ids = [];
  const parallel = 4;
  async function maker(share) {
    const agent = keptAlive();
    try {
      for (let i = 0; i < share; ++i)
        ids.push((await expect(201, call(agent, 'POST', '/v1/sandboxes', { image: 'host' }), 'create')).json.id);
    } finally {
      agent.destroy();
    }
  }
  try {
    await Promise.all(Array.from({ length: parallel }, (_, k) => maker(Math.floor(idleCount / parallel) + (k < idleCount % parallel ? 1 : 0))));
    await sleep(1000);
    const rss = rssKiB();
    report(`service RSS holding ${ids.length} idle sandboxes`, rss / 1024, 'MiB', { target: 50,
      note: `${(rss0 / 1024).toFixed(1)} MiB with none; ${(((rss - rss0) / ids.length)).toFixed(1)} KiB each` });
  } finally {
    for (const id of ids) await call(main, 'DELETE', `/v1/sandboxes/${id}`);
    await drained(600000);
  }
}

function streamOnce(id, bytes) {
  return new Promise((done, fail) => {
    const ws = new WebSocket(`ws+unix://${socket}:/v1/sandboxes/${id}/exec`);
    let received = 0, start, exit;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'request',
      argv: ['dd', 'if=/dev/zero', 'bs=1M', `count=${bytes >> 20}`, 'status=none'] })));
    ws.on('message', (data, binary) => {
      if (binary) { if (data[0] === 1) received += data.length - 1; return; }
      const message = JSON.parse(data.toString());
      if (message.type === 'started') start = now();
      else if (message.type === 'exit') exit = message;
      else fail(new Error(`stream: ${data}`));
    });
    ws.on('close', () => {
      const ms = now() - start;
      if (!exit || exit.exit_code !== 0 || received !== bytes) fail(new Error(`stream: ${received} of ${bytes} bytes, exit ${JSON.stringify(exit)}`));
      else done((bytes / 1e6) / (ms / 1000));
    });
    ws.on('error', fail);
  });
}

async function stream(peerMBps) {
  const created = await expect(201, call(main, 'POST', '/v1/sandboxes', { image: 'host' }), 'create');
  try {
    await streamOnce(created.json.id, 64 << 20);  // warm-up
    const rates = [];
    for (let i = 0; i < 3; ++i) rates.push(await streamOnce(created.json.id, streamMiB << 20));
    report(`streamed stdout over the socket (${streamMiB} MiB, best of 3)`, Math.max(...rates), 'MB/s', {
      target: 500, better: 'higher', peer: peerMBps, peerName: 'in-process read_output',
      note: `runs ${rates.map((r) => r.toFixed(0)).join(', ')} MB/s` });
  } finally {
    await call(main, 'DELETE', `/v1/sandboxes/${created.json.id}`);
  }
}

// --- the run --------------------------------------------------------------------------------
const uptime = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`hutch serve bench, ${new Date().toISOString()}, load average ${uptime}`);
let execPeer, streamPeer;
if (wanted('exec')) execPeer = inProcess('^BM_ExecLatency/0/').p50_ms;
if (wanted('stream')) streamPeer = inProcess('^BM_StdoutThroughput').bytes_per_second / 1e6;

const service = spawn(join(build, 'bin/hutch'), ['--config', config, 'serve', '--listen', `unix://${socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
servicePid = service.pid;
// Interrupted: the service ends with the bench (SIGTERM drains it; its pool goes with it).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { service.kill('SIGTERM'); process.exit(130); });
let serviceLog = '';
service.stderr.on('data', (data) => { serviceLog = (serviceLog + data).slice(-20000); });
let failed = false;
try {
  await new Promise((done, fail) => {
    const check = setInterval(() => { if (serviceLog.includes('listening on')) { clearInterval(check); done(); } }, 10);
    service.on('exit', (code) => { clearInterval(check); fail(new Error(`hutch serve exited ${code}: ${serviceLog}`)); });
  });
  await poolFull();
  if (wanted('handout')) await handout();
  if (wanted('exec')) await execRoundTrip(execPeer);
  if (wanted('cli')) cli();
  if (wanted('stream')) await stream(streamPeer);
  if (wanted('idle')) await idle();
  if (wanted('load')) await load();
} catch (error) {
  failed = true;
  console.error(`bench failed: ${error.stack}`);
} finally {
  service.kill('SIGTERM');
  const exited = await Promise.race([new Promise((done) => (service.exitCode !== null ? done(true) : service.on('exit', () => done(true)))),
    sleep(60000).then(() => false)]);
  if (!exited) {
    failed = true;
    console.error('hutch serve did not end within 60 s of SIGTERM; killed');
    service.kill('SIGKILL');
  }
  main.destroy();
  // What a killed service left: removed with the CLI, and reported.
  for (const id of records()) spawnSync(join(build, 'bin/hutch'), ['--config', config, 'rm', id], { stdio: 'ignore' });
  const left = records();
  if (left.length) { failed = true; console.error(`left behind after SIGTERM: ${left.join(' ')}`); }
  else rmSync(dir, { recursive: true, force: true });
}
console.log('\nsummary:');
for (const row of rows.filter((r) => r.met !== undefined)) console.log(`  ${row.met ? 'MET    ' : 'NOT MET'} ${row.name}`);
process.exit(failed || rows.some((r) => r.met === false) ? 1 : 0);
