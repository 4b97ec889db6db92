// Warm-pool hand-out latency of `hutch serve` over its Unix socket, against a plain create:
//   node bench/pool_handout.mjs BUILD_DIR [ROUNDS]
// Starts a service on the subcontainer backend with [serve.pools.bench] (size 4, image "host")
// in a scratch directory, then times POST /v1/sandboxes {"pool":"bench"} (waiting for the pool
// to be full again before each, so each is a hand-out of a ready sandbox, not the fallback
// create) and POST /v1/sandboxes {"image":"host"}, each over one kept-alive connection, and
// prints p50/p99 in ms. Each sandbox is deleted after its timing; the service is stopped with
// SIGTERM (its pool sandboxes go with it) and the scratch directory removed.
// Target (issue 15): hand-out p50 <= 2 ms over the socket.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const build = resolve(process.argv[2] ?? 'build');
const rounds = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'hutch-pool-bench-'));
chmodSync(dir, 0o711);
const socket = join(dir, 'hutch.sock');
const config = join(dir, 'hutch.toml');
writeFileSync(config, `[defaults]\nbackend = "subcontainer"\nstate_dir = "${dir}/state"\n[plugins]\npaths = ["${build}/plugins"]\n` +
  '[serve.pools.bench]\nsize = 4\nmax_age = "1h"\nimage = "host"\n');

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function call(method, path, body) {
  return new Promise((done, fail) => {
    const request = http.request({ socketPath: socket, method, path, agent, headers: { 'content-type': 'application/json' } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        done({ status: response.statusCode, json: text ? JSON.parse(text) : undefined, text });
      });
    });
    request.on('error', fail);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
async function time(label, body, before) {
  const samples = [];
  for (let i = 0; i < rounds; ++i) {
    if (before) await before();
    const start = process.hrtime.bigint();
    const created = await call('POST', '/v1/sandboxes', body);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (created.status !== 201) throw new Error(`${label}: ${created.status} ${created.text}`);
    samples.push(ms);
    await call('DELETE', `/v1/sandboxes/${created.json.id}`);
  }
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(28)} n=${rounds} p50=${percentile(samples, 50).toFixed(2)} ms p99=${percentile(samples, 99).toFixed(2)} ms`);
}

async function poolFull() {
  for (;;) {
    const pools = await call('GET', '/v1/pools');
    const pool = pools.json.find((p) => p.name === 'bench');
    if (pool.ready === pool.size) return;
    await new Promise((done) => setTimeout(done, 20));
  }
}

const service = spawn(join(build, 'bin/hutch'), ['--config', config, 'serve', '--listen', `unix://${socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
try {
  await new Promise((done, fail) => {
    let text = '';
    service.stderr.on('data', (data) => { text += data; if (text.includes('listening on')) done(); });
    service.on('exit', (code) => fail(new Error(`hutch serve exited ${code}: ${text}`)));
  });
  await poolFull();
  // The floor: a round trip that touches no sandbox, over the same connection.
  const floor = [];
  for (let i = 0; i < rounds; ++i) {
    const start = process.hrtime.bigint();
    await call('GET', '/healthz');
    floor.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  floor.sort((a, b) => a - b);
  console.log(`${'GET /healthz (socket)'.padEnd(28)} n=${rounds} p50=${percentile(floor, 50).toFixed(2)} ms p99=${percentile(floor, 99).toFixed(2)} ms`);
  await time('pool hand-out (socket)', { pool: 'bench' }, poolFull);
  await time('plain create (socket)', { image: 'host' });
} finally {
  service.kill('SIGTERM');
  await new Promise((done) => service.on('exit', done));
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
}
