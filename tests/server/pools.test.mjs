// Warm pools ([serve.pools.NAME]) through a real `hutch serve` on HUTCH_SERVER_TEST_BACKEND:
// filling, hand-out with env/lifetimes/files, refill, refused fields, max_age, and no pool
// sandbox left behind by a kill -9, a restart or a SIGTERM (checked in the backend's own list).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Service, tokens, env, expectError, backendSkip, until } from './service_fixture.mjs';

const skip = await backendSkip();

const admin = { token: tokens.admin };
const pools = [
  '[serve.pools.py]', 'size = 2', 'max_age = "1h"', 'image = "host"', 'env = { POOLED = "yes" }',
  '[serve.pools.short]', 'size = 1', 'max_age = "2s"', 'image = "host"',
  '[serve.pools.empty]', 'size = 0', 'image = "host"',
].join('\n');

async function poolStatus(service, name) {
  const listed = await service.curl('GET', '/v1/pools', admin);
  assert.equal(listed.status, 200, listed.text);
  return listed.json.find((pool) => pool.name === name);
}
const readyIn = async (service, name) => (await poolStatus(service, name)).ready;
const members = async (service, name) => (await service.backendList()).filter((s) => s.labels['hutch.pool'] === name).map((s) => s.id);

describe(`warm pools on ${env.backend}`, { skip }, () => {
  let service;
  before(async () => { service = await Service.start({ serveTable: pools }); });
  after(async () => { await service?.stop(); });

  const exec = (id, argv) => service.curl('POST', `/v1/sandboxes/${id}/exec`, { ...admin, json: { argv } });

  it('fills each pool to its size, and its ready sandboxes are not shown to clients', async () => {
    await until('pool py to fill', async () => (await readyIn(service, 'py')) === 2);
    const py = await poolStatus(service, 'py');
    assert.deepEqual(py, { name: 'py', backend: env.backend, size: 2, ready: 2, max_age_ms: 3600000 });
    assert.equal((await members(service, 'py')).length, 2);
    assert.deepEqual((await service.curl('GET', '/v1/sandboxes', admin)).json, []);
  });

  it('hands out a ready sandbox with the env, lifetimes and files asked, then refills', async () => {
    await until('pool py to fill', async () => (await readyIn(service, 'py')) === 2);
    const ready = await members(service, 'py');
    const before = Date.now();
    const taken = await service.curl('POST', '/v1/sandboxes', {
      ...admin,
      json: { pool: 'py', env: { ASKED: 'at hand-out' }, ttl_ms: 600000, files: [{ path: '/tmp/pool/hello.txt', content: 'hi there' }],
        labels: { owner: 'pool-test' } },
    });
    assert.equal(taken.status, 201, taken.text);
    const sandbox = taken.json;
    assert.ok(ready.includes(sandbox.id), `${sandbox.id} was not one of the ready ${ready}`);
    assert.equal(sandbox.state, 'running');
    const expires = Date.parse(sandbox.expires_at);
    assert.ok(expires >= before + 590000 && expires <= Date.now() + 610000, `expires_at ${sandbox.expires_at}`);
    assert.equal((await exec(sandbox.id, ['printenv', 'ASKED'])).json.stdout, 'at hand-out\n');
    assert.equal((await exec(sandbox.id, ['printenv', 'POOLED'])).json.stdout, 'yes\n');
    assert.equal((await exec(sandbox.id, ['cat', '/tmp/pool/hello.txt'])).json.stdout, 'hi there');
    // Handed out, it is the client's: listed and found, with the labels given and as the
    // taking token's; the pool makes another.
    assert.equal(sandbox.labels.owner, 'pool-test');
    assert.equal(sandbox.labels['hutch.token'], 'admin');
    const listed = await service.curl('GET', '/v1/sandboxes', admin);
    assert.deepEqual(listed.json.map((s) => s.id), [sandbox.id]);
    const byLabel = await service.curl('GET', '/v1/sandboxes?label=owner%3Dpool-test', admin);
    assert.deepEqual(byLabel.json.map((s) => s.id), [sandbox.id]);
    assert.deepEqual((await service.curl('GET', '/v1/sandboxes?label=owner%3Dother', admin)).json, []);
    await until('pool py to refill', async () => (await readyIn(service, 'py')) === 2);
    assert.equal((await members(service, 'py')).filter((id) => id !== sandbox.id).length, 2);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${sandbox.id}`, admin)).status, 204);
  });

  it('makes one at once when the pool has none ready', async () => {
    const taken = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'empty', env: { X: '1' } } });
    assert.equal(taken.status, 201, taken.text);
    assert.equal((await exec(taken.json.id, ['printenv', 'X'])).json.stdout, '1\n');
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${taken.json.id}`, admin)).status, 204);
  });

  it('refuses the fields that cannot apply to a made sandbox, naming them', async () => {
    for (const [field, value] of [['image', 'host'], ['mounts', []], ['memory', 1 << 20], ['network', 'host'],
      ['workspace', 'none'], ['workdir', '/tmp'], ['ports', [80]]]) {
      const refused = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'py', [field]: value } });
      expectError(refused, 400, 'invalid_argument', `field '${field}'`);
    }
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'py', backend: 'elsewhere' } }),
      400, 'invalid_argument', "field 'backend'");
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'py', env: { A: 1 } } }),
      400, 'invalid_argument', 'env');
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'py', files: [{ path: '/x', source: '/etc/passwd' }] } }),
      400, 'invalid_argument', 'files[0].source');
    expectError(await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'nonesuch' } }), 404, 'not_found', "pool 'nonesuch'");
    expectError(await service.curl('POST', '/v1/sandboxes', { token: tokens.alice, json: { pool: 'py' } }), 403, 'permission_denied', 'pool');
    assert.deepEqual((await service.curl('GET', '/v1/sandboxes', admin)).json, [], 'a refused request left a sandbox');
  });

  // The hutch command with --host: `run --pool` and `create --pool` through the remote backend.
  function hutch(args, { host = true } = {}) {
    const environment = { ...process.env, HUTCH_TOKEN: tokens.admin };
    delete environment.HUTCH_HOST;
    const hostArgs = host ? ['--host', `unix://${service.socket}`] : [];
    return promisify(execFile)(env.hutch, ['--config', service.config, ...hostArgs, ...args], { env: environment })
      .then(({ stdout }) => ({ code: 0, stdout }), (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }));
  }

  it('takes a pooled sandbox with hutch run --pool and hutch create --pool (--host)', async () => {
    await until('pool py to fill', async () => (await readyIn(service, 'py')) === 2);
    const ready = await members(service, 'py');
    const ran = await hutch(['run', '--pool', 'py', '-e', 'ASKED=cli', '--', 'printenv', 'POOLED', 'ASKED']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'yes\ncli\n');
    const created = await hutch(['create', '--pool', 'py']);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.ok(ready.includes(id), `${id} was not one of the ready ${ready}`);
    assert.deepEqual((await service.curl('GET', '/v1/sandboxes', admin)).json.map((s) => s.id), [id]);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${id}`, admin)).status, 204);
    const shaped = await hutch(['create', '--pool', 'py', '--memory', '1g']);
    assert.notEqual(shaped.code, 0);
    assert.match(shaped.stderr, /--memory: a sandbox of pool 'py' is made already/);
    const local = await hutch(['create', '--pool', 'py'], { host: false });
    assert.notEqual(local.code, 0);
    assert.match(local.stderr, /--pool py: .*--host or HUTCH_HOST/);
    const unknown = await hutch(['run', '--pool', 'nonesuch', '--', 'true']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no pool 'nonesuch'/);
  });

  it('replaces a ready sandbox older than max_age', async () => {
    const [first] = await until('pool short to fill', async () => {
      const ids = await members(service, 'short');
      return ids.length === 1 && ids;
    });
    const [second] = await until('the old one to be replaced', async () => {
      const ids = await members(service, 'short');
      return ids.length === 1 && ids[0] !== first && ids;
    }, 15000);
    assert.notEqual(second, first);
  });
});

describe(`warm pools across a kill -9 and a restart on ${env.backend}`, { skip }, () => {
  let service;
  before(async () => { service = await Service.start({ serveTable: '[serve.pools.py]\nsize = 2\nimage = "host"' }); });
  after(async () => { await service?.stop(); });

  it('removes the ready sandboxes a killed run left, keeps the handed-out one, and leaves nothing on SIGTERM', async () => {
    await until('pool py to fill', async () => (await readyIn(service, 'py')) === 2);
    const taken = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'py' } });
    assert.equal(taken.status, 201, taken.text);
    await until('pool py to refill', async () => (await readyIn(service, 'py')) === 2);
    const left = (await members(service, 'py')).filter((id) => id !== taken.json.id);
    assert.equal(left.length, 2);

    await service.restartAfterKill();
    await until('pool py to fill after the restart', async () => (await readyIn(service, 'py')) === 2);
    const now = await members(service, 'py');
    for (const id of left) assert.ok(!now.includes(id), `${id}, left ready by the killed run, is still there`);
    assert.ok(now.includes(taken.json.id), 'the handed-out sandbox was removed by the restart');
    assert.equal(now.length, 3);
    assert.deepEqual((await service.curl('GET', '/v1/sandboxes', admin)).json.map((s) => s.id), [taken.json.id]);

    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${taken.json.id}`, admin)).status, 204);
    service.process.kill('SIGTERM');
    const { code } = await service.exited;
    assert.equal(code, 0, service.stderr);
    assert.deepEqual(await service.backendList(), [], 'sandboxes of the service left after SIGTERM');
  });
});

describe('warm pool configuration', { skip }, () => {
  it('a bad [serve.pools.NAME] stops the start, naming the key or the pool', async () => {
    await assert.rejects(Service.start({ serveTable: '[serve.pools.a]\nsize = 1\nimagee = "host"' }), /serve\.pools\.a\.imagee: unknown key/);
    await assert.rejects(Service.start({ serveTable: '[serve.pools.a]\nsize = -1' }), /serve\.pools\.a\.size/);
    await assert.rejects(Service.start({ serveTable: '[serve.pools.b]\nbackend = "nonesuch"' }), /\[serve\.pools\.b\]: no backend 'nonesuch'/);
  });
});
