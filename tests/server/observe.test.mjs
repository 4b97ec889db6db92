// GET /v1/events (Server-Sent Events) and GET /metrics (Prometheus text) through a real
// `hutch serve` on HUTCH_SERVER_TEST_BACKEND: the order of a sandbox's events, filters, tenant
// isolation, a ttl's "expired", a main command's "exited", a pool's refill, keep-alives,
// Last-Event-ID resumes, a strict parse of the metrics, and the stream's clean end on SIGTERM.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Service, tokens, env, expectError, backendSkip } from './service_fixture.mjs';
import { EventStream } from './event_stream.mjs';

const skip = await backendSkip();

const admin = { token: tokens.admin };
const alice = { token: tokens.alice };
const bob = { token: tokens.bob };
const serveTable = ['events_keepalive = "1s"', '[serve.pools.warm]', 'size = 1', 'image = "host"'].join('\n');

async function create(service, who, json = {}) {
  const made = await service.curl('POST', '/v1/sandboxes', { ...who, json: { image: 'host', ...json } });
  assert.equal(made.status, 201, made.text);
  return made.json.id;
}

// A strict reader of the text exposition format 0.0.4 as /metrics writes it: every family has
// # HELP then # TYPE before its samples, names start with hutch_, samples belong to the family
// just declared (a histogram's _bucket/_sum/_count), labels are well-formed and no series
// repeats. Returns Map name -> { type, help, samples: [{ name, labels, value }] }.
function parseMetrics(text) {
  assert.ok(text.endsWith('\n'), 'the exposition must end with a newline');
  const families = new Map();
  const seen = new Set();
  let current = null;
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP (\S+) (.+)$/.exec(line))) {
      assert.match(m[1], /^hutch_[a-z0-9_]+$/, `metric name ${m[1]}`);
      assert.ok(!families.has(m[1]), `family ${m[1]} declared twice`);
      current = { name: m[1], help: m[2], type: null, samples: [] };
      families.set(m[1], current);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line))) {
      assert.ok(current && current.name === m[1] && current.type === null && current.samples.length === 0, `# TYPE ${m[1]} out of place`);
      current.type = m[2];
    } else if (line.startsWith('#')) {
      assert.fail(`unexpected comment line '${line}'`);
    } else {
      m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(m, `malformed sample line '${line}'`);
      const [, name, labelText = '', valueText] = m;
      assert.ok(current?.type, `sample '${line}' before its family's # HELP and # TYPE`);
      const allowed = current.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => current.name + s) : [current.name];
      assert.ok(allowed.includes(name), `sample ${name} in family ${current.name} (${current.type})`);
      const labels = {};
      const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      for (let at = 0; at < labelText.length;) {
        labelRe.lastIndex = at;
        const l = labelRe.exec(labelText);
        assert.ok(l, `malformed labels '${labelText}'`);
        assert.ok(!(l[1] in labels), `label ${l[1]} twice in '${line}'`);
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        at = labelRe.lastIndex;
      }
      const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
      assert.ok(!Number.isNaN(value) || valueText === 'NaN', `value '${valueText}'`);
      const key = name + JSON.stringify(Object.entries(labels).sort());
      assert.ok(!seen.has(key), `series repeated: ${line}`);
      seen.add(key);
      current.samples.push({ name, labels, value });
    }
  }
  for (const family of families.values()) {
    assert.ok(family.type, `family ${family.name} has no # TYPE`);
    if (family.type !== 'histogram') continue;
    // Per label set: le ascending, counts cumulative, +Inf last and equal to _count.
    const sets = new Map();
    for (const s of family.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      if (!sets.has(key)) sets.set(key, { buckets: [], count: null, sum: null });
      const set = sets.get(key);
      if (s.name.endsWith('_bucket')) set.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      else if (s.name.endsWith('_count')) set.count = s.value;
      else set.sum = s.value;
    }
    for (const [key, set] of sets) {
      assert.ok(set.buckets.length > 1 && set.count !== null && set.sum !== null, `${family.name}${key}: incomplete histogram`);
      for (let i = 1; i < set.buckets.length; ++i) {
        assert.ok(set.buckets[i][0] > set.buckets[i - 1][0], `${family.name}${key}: le not ascending`);
        assert.ok(set.buckets[i][1] >= set.buckets[i - 1][1], `${family.name}${key}: buckets not cumulative`);
      }
      assert.equal(set.buckets.at(-1)[0], Infinity, `${family.name}${key}: no +Inf bucket`);
      assert.equal(set.buckets.at(-1)[1], set.count, `${family.name}${key}: +Inf bucket != _count`);
    }
  }
  return families;
}

// The value of the sample of `name` whose labels include `labels` (0 when there is none).
function valueOf(families, family, name, labels) {
  const found = families.get(family)?.samples.filter((s) => s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)) ?? [];
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}

async function scrape(service) {
  // fetch, which sees the whole Content-Type (parameters included).
  const answer = await service.fetch('GET', '/metrics', admin);
  assert.equal(answer.status, 200, answer.text);
  assert.match(answer.contentType, /^text\/plain; version=0\.0\.4/);
  return parseMetrics(answer.text);
}

describe(`events and metrics on ${env.backend}`, { skip }, () => {
  let service;
  const streams = [];
  const open = async (options) => {
    const stream = await EventStream.open(service, options);
    if (stream.status === 200) streams.push(stream);
    return stream;
  };
  before(async () => { service = await Service.start({ serveTable }); });
  after(async () => {
    for (const stream of streams) stream.close();
    await service?.stop();
  });

  it('a sandbox\'s events arrive in order: created, stopped, started, destroyed (exec makes none)', async () => {
    const all = await open(admin);
    const id = await create(service, admin, { labels: { suite: 'observe' } });
    // Filtered streams opened once the id is known: only that sandbox, only these types.
    const filtered = await open({ ...admin, query: `?sandbox=${id}&type=stopped,destroyed` });
    const exec = await service.curl('POST', `/v1/sandboxes/${id}/exec`, { ...admin, json: { argv: ['true'] } });
    assert.equal(exec.status, 200, exec.text);
    assert.equal((await service.curl('POST', `/v1/sandboxes/${id}/stop`, admin)).status, 200);
    assert.equal((await service.curl('POST', `/v1/sandboxes/${id}/start`, admin)).status, 200);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${id}`, admin)).status, 204);
    await all.until('destroyed', () => all.of(id).some((e) => e.event === 'destroyed'));
    const mine = all.of(id);
    assert.deepEqual(mine.map((e) => e.event), ['created', 'stopped', 'started', 'destroyed']);
    const ids = mine.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'event ids must increase');
    assert.equal(new Set(ids).size, ids.length);
    for (const event of mine) {
      assert.equal(event.data.backend, env.backend);
      assert.equal(event.data.labels.suite, 'observe');
      assert.equal(event.data.labels['hutch.service'], service.instanceId);
      assert.ok(Math.abs(Date.parse(event.data.time) - Date.now()) < 60000, event.data.time);
    }
    await filtered.until('destroyed', () => filtered.events.some((e) => e.event === 'destroyed'));
    assert.deepEqual(filtered.events.map((e) => e.event), ['stopped', 'destroyed']);
  });

  it('refuses an unknown event type, naming it', async () => {
    const refused = await open({ ...admin, query: '?type=created,exploded' });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /exploded/);
    const nobody = await open({ token: 'not-a-token-0123456789' });
    assert.equal(nobody.status, 401);
  });

  it('a tenant gets only its own sandboxes\' events, and no pool events', async () => {
    const ofAlice = await open(alice);
    const ofBob = await open(bob);
    const ofAdmin = await open(admin);
    const a = await create(service, alice);
    const b = await create(service, bob);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${b}`, bob)).status, 204);
    await ofAdmin.until('bob\'s destroyed', () => ofAdmin.of(b).some((e) => e.event === 'destroyed'));
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${a}`, alice)).status, 204);
    await ofAlice.until('alice\'s destroyed', () => ofAlice.of(a).some((e) => e.event === 'destroyed'));
    await ofBob.until('bob\'s destroyed', () => ofBob.of(b).some((e) => e.event === 'destroyed'));
    assert.deepEqual(ofAlice.events.map((e) => [e.event, e.data.sandbox]), [['created', a], ['destroyed', a]]);
    assert.deepEqual(ofBob.events.map((e) => [e.event, e.data.sandbox]), [['created', b], ['destroyed', b]]);
    for (const event of ofAlice.events) assert.equal(event.data.labels['hutch.tenant'], 'alice');
    // The operator saw both.
    await ofAdmin.until('alice\'s destroyed', () => ofAdmin.of(a).some((e) => e.event === 'destroyed'));
    assert.deepEqual([ofAdmin.of(a).length, ofAdmin.of(b).length], [2, 2]);
    // A tenant asking for another's sandbox by id gets nothing of it either.
    const peek = await open({ ...bob, query: `?sandbox=${a}` });
    const resumeAll = await open({ ...bob, headers: { 'last-event-id': '0' } });
    await resumeAll.until('a keep-alive', () => resumeAll.comments.some((c) => c.includes('keep-alive')), 5000);
    assert.ok(resumeAll.events.every((e) => e.data.labels['hutch.tenant'] === 'bob'), JSON.stringify(resumeAll.events));
    assert.ok(!resumeAll.events.some((e) => e.event === 'pool_refilled'));
    assert.deepEqual(peek.events, []);
  });

  it('a ttl\'s end is an "expired" event', async () => {
    const stream = await open(admin);
    const short = await create(service, admin, { ttl_ms: 1500 });
    await stream.until('expired', () => stream.of(short).some((e) => e.event === 'expired'), 30000);
    const expired = stream.of(short).find((e) => e.event === 'expired');
    assert.ok(Date.parse(expired.data.details.expires_at) <= Date.now(), JSON.stringify(expired.data));
    assert.deepEqual(stream.of(short).map((e) => e.event), ['created', 'expired']);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${short}`, admin)).status, 204);
  });

  it('an idle timeout\'s end is an "expired" event too (the service\'s looks are no activity)', async () => {
    const stream = await open(admin);
    const idle = await create(service, admin, { idle_timeout_ms: 2000 });
    await stream.until('expired', () => stream.of(idle).some((e) => e.event === 'expired'), 30000);
    assert.deepEqual(stream.of(idle).map((e) => e.event), ['created', 'expired']);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${idle}`, admin)).status, 204);
  });

  // The fake backend has no main command (launch is 501 there).
  it('a main command\'s end is an "exited" event', { skip: env.backend === 'fake' && 'the fake backend cannot launch' }, async () => {
    const stream = await open(admin);
    const launcher = await create(service, admin);
    const launched = await service.curl('POST', `/v1/sandboxes/${launcher}/launch`, { ...admin, json: { argv: ['sh', '-c', 'sleep 1; exit 3'] } });
    assert.equal(launched.status, 201, launched.text);
    await stream.until('exited', () => stream.of(launcher).some((e) => e.event === 'exited'), 30000);
    const exited = stream.of(launcher).find((e) => e.event === 'exited');
    assert.equal(exited.data.details.main_command, true);
    assert.equal(exited.data.details.command.exit_code, 3, JSON.stringify(exited.data));
    assert.deepEqual(stream.of(launcher).map((e) => e.event), ['created', 'exited']);
    // One that ends before the service first looks still gets its event.
    const quick = await service.curl('POST', `/v1/sandboxes/${launcher}/launch`, { ...admin, json: { argv: ['sh', '-c', 'exit 4'] } });
    assert.equal(quick.status, 201, quick.text);
    await stream.until('the second exited', () => stream.of(launcher).filter((e) => e.event === 'exited').length === 2, 30000);
    assert.equal(stream.of(launcher).filter((e) => e.event === 'exited')[1].data.details.command.exit_code, 4);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${launcher}`, admin)).status, 204);
  });

  it('a pool\'s refill is a "pool_refilled" event; Last-Event-ID replays what a client missed', async () => {
    // From the start of the ring: the first fill of pool warm happened before any client.
    const fromStart = await open({ ...admin, query: '?type=pool_refilled', headers: { 'last-event-id': '0' } });
    await fromStart.until('the first fill', () => fromStart.events.length >= 1);
    assert.equal(fromStart.events[0].data.details.pool, 'warm');
    // Id 0 is older than this run's first event (ids start at the service's start time × 10⁶).
    assert.deepEqual(fromStart.notices.map((n) => n.event), ['gap']);
    assert.ok(fromStart.notices[0].data.first_kept_id <= Number(fromStart.events[0].id));
    const before = fromStart.events.length;
    const taken = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { pool: 'warm' } });
    assert.equal(taken.status, 201, taken.text);
    await fromStart.until('the refill', () => fromStart.events.length > before);
    const refill = fromStart.events.at(-1);
    assert.deepEqual(refill.data.details, { pool: 'warm', ready: 1, size: 1 });
    assert.equal(refill.data.backend, env.backend);
    // The hand-out itself is a "created" with the pool named. A client that left before it
    // gets it on reconnecting with the last id it saw.
    const resumed = await open({ ...admin, query: `?sandbox=${taken.json.id}`, headers: { 'last-event-id': String(Number(fromStart.events[0].id)) } });
    await resumed.until('the hand-out', () => resumed.events.some((e) => e.event === 'created'));
    assert.deepEqual(resumed.events.find((e) => e.event === 'created').data.details, { pool: 'warm' });
    const metrics = await scrape(service);
    assert.equal(valueOf(metrics, 'hutch_pool_target', 'hutch_pool_target', { pool: 'warm', backend: env.backend }), 1);
    assert.ok(valueOf(metrics, 'hutch_create_seconds', 'hutch_create_seconds_count', { backend: env.backend, from: 'pool' }) >= 1);
    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${taken.json.id}`, admin)).status, 204);
  });

  it('/metrics parses strictly, and its counters and gauges follow what the service does', async () => {
    const first = await scrape(service);
    const expected = {
      hutch_sandboxes: 'gauge', hutch_backend_up: 'gauge', hutch_pool_ready: 'gauge', hutch_pool_target: 'gauge',
      hutch_open_streams: 'gauge', hutch_requests_total: 'counter', hutch_create_seconds: 'histogram', hutch_exec_seconds: 'histogram',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(first.get(name)?.type, type, `family ${name}`);
    assert.equal(valueOf(first, 'hutch_backend_up', 'hutch_backend_up', { backend: env.backend }), 1);
    const running = (families) => valueOf(families, 'hutch_sandboxes', 'hutch_sandboxes', { backend: env.backend, state: 'running' });
    const route = (families, r, m, s) => valueOf(families, 'hutch_requests_total', 'hutch_requests_total', { route: r, method: m, status: s });

    const id = await create(service, admin);
    for (let i = 0; i < 3; ++i) assert.equal((await service.curl('GET', `/v1/sandboxes/${id}`, admin)).status, 200);
    assert.equal((await service.curl('GET', '/v1/sandboxes/no-such-sandbox', admin)).status, 404);
    assert.equal((await service.curl('POST', `/v1/sandboxes/${id}/exec`, { ...admin, json: { argv: ['true'] } })).status, 200);
    const events = await open(admin);
    const during = await scrape(service);
    assert.equal(running(during), running(first) + 1, 'the running gauge after a create');
    // The route's pattern, never the raw path with the id.
    assert.equal(route(during, '/v1/sandboxes/{id}', 'GET', '200') - route(first, '/v1/sandboxes/{id}', 'GET', '200'), 3);
    assert.equal(route(during, '/v1/sandboxes/{id}', 'GET', '404') - route(first, '/v1/sandboxes/{id}', 'GET', '404'), 1);
    assert.ok(!during.get('hutch_requests_total').samples.some((s) => s.labels.route.includes(id)));
    assert.equal(route(during, '/v1/sandboxes', 'POST', '201') - route(first, '/v1/sandboxes', 'POST', '201'), 1);
    assert.equal(route(during, '/metrics', 'GET', '200') - route(first, '/metrics', 'GET', '200'), 1);
    const created = (f) => valueOf(f, 'hutch_create_seconds', 'hutch_create_seconds_count', { backend: env.backend, from: 'backend' });
    assert.equal(created(during) - created(first), 1);
    const execs = (f) => valueOf(f, 'hutch_exec_seconds', 'hutch_exec_seconds_count', { backend: env.backend });
    assert.equal(execs(during) - execs(first), 1);
    const streamsOpen = (f) => valueOf(f, 'hutch_open_streams', 'hutch_open_streams', { kind: 'events' });
    assert.equal(streamsOpen(during), streamsOpen(first) + 1);
    events.close();

    assert.equal((await service.curl('DELETE', `/v1/sandboxes/${id}`, admin)).status, 204);
    const deadline = Date.now() + 20000;
    for (;;) {
      const later = await scrape(service);
      if (running(later) === running(first) && streamsOpen(later) === streamsOpen(first)) break;
      assert.ok(Date.now() < deadline, `the running gauge stays at ${running(later)} after the destroy, streams ${streamsOpen(later)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('/metrics needs an operator token: 403 for a tenant, 401 without one', async () => {
    expectError(await service.curl('GET', '/metrics', alice), 403, 'permission_denied', 'tenant');
    expectError(await service.fetch('GET', '/metrics', {}), 401, 'unauthenticated');
  });

  it('every whole answer says how long the service took for it (Server-Timing)', async () => {
    for (const [path, status] of [['/v1/sandboxes', 200], ['/v1/sandboxes/no-such-sandbox', 404]]) {
      const response = await fetch(`http://127.0.0.1:${service.port}${path}`, { headers: { authorization: `Bearer ${tokens.admin}` } });
      await response.arrayBuffer();
      assert.equal(response.status, status);
      const timing = response.headers.get('server-timing');
      assert.match(timing ?? '', /^handler;dur=\d+\.\d{3}$/, `${path}: Server-Timing ${timing}`);
      assert.ok(Number(timing.split('=')[1]) < 10000, timing);
    }
  });
});

describe(`the events stream on SIGTERM (${env.backend})`, { skip }, () => {
  it('ends cleanly when the service drains', async () => {
    const service = await Service.start({});
    try {
      const stream = await EventStream.open(service, admin);
      assert.equal(stream.status, 200);
      await stream.until('the opening comment', () => stream.comments.length >= 1, 5000);
      const started = Date.now();
      service.process.kill('SIGTERM');
      const outcome = await Promise.race([stream.ended, new Promise((resolve) => setTimeout(() => resolve('still open'), 10000))]);
      assert.equal(outcome, 'ended', 'the stream did not end cleanly on SIGTERM');
      const { code } = await service.exited;
      assert.equal(code, 0, service.stderr);
      assert.ok(Date.now() - started < 10000);
    } finally {
      await service.stop();
    }
  });
});
