// Background processes of /v1 (POST/GET /v1/sandboxes/{id}/processes, an attachment by WebSocket
// at …/processes/{pid}, …/signal) through a real `hutch serve` on HUTCH_SERVER_TEST_BACKEND:
// start, list, attach, detach and attach again from a new connection (the kept output replayed),
// the newest 1 MiB kept with the dropped bytes counted, a signal, and its "exited" event.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Service, tokens, env, expectError, backendSkip } from './service_fixture.mjs';
import { EventStream } from './event_stream.mjs';

const skip = await backendSkip();
const admin = { token: tokens.admin };
const MiB = 1 << 20;

// One attachment: collects stdout, the messages, and the close code; `until(what, done)` waits.
class Attachment {
  static open(service, path, { token = tokens.admin } = {}) {
    const attachment = new Attachment();
    attachment.stdout = [];
    attachment.stdoutBytes = 0;
    attachment.messages = [];
    attachment.waiters = [];
    attachment.ws = new WebSocket(`ws://127.0.0.1:${service.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
    attachment.closed = new Promise((resolve) => attachment.ws.on('close', (code) => { attachment.code = code; attachment.#wake(); resolve(code); }));
    attachment.ws.on('message', (data, binary) => {
      if (binary) {
        assert.equal(data[0], 1, `a frame of stream ${data[0]}`);
        attachment.stdout.push(data.subarray(1));
        attachment.stdoutBytes += data.length - 1;
      } else {
        attachment.messages.push(JSON.parse(data.toString()));
      }
      attachment.#wake();
    });
    return new Promise((resolve, reject) => {
      attachment.ws.on('open', () => resolve(attachment));
      attachment.ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ httpStatus: res.statusCode, body: JSON.parse(body) }));
      });
      attachment.ws.on('error', reject);
    });
  }

  #wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  text() { return Buffer.concat(this.stdout).toString(); }
  send(data) { this.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(data)])); }
  control(message) { this.ws.send(JSON.stringify(message)); }

  async until(what, done, ms = 20000) {
    const deadline = Date.now() + ms;
    while (!done(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.messages)} ${this.stdoutBytes} bytes`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}

describe(`background processes on ${env.backend}`, { skip }, () => {
  let service;
  let id;
  const base = () => `/v1/sandboxes/${id}/processes`;
  before(async () => {
    service = await Service.start({});
    const made = await service.curl('POST', '/v1/sandboxes', { ...admin, json: { image: 'host' } });
    assert.equal(made.status, 201, made.text);
    id = made.json.id;
  });
  after(async () => { await service?.stop(); });

  it('starts one, lists it, and a new connection attaches again and gets the kept output', async () => {
    const started = await service.curl('POST', base(), { ...admin, json: { argv: ['cat'], tag: 'echo' } });
    assert.equal(started.status, 201, started.text);
    const { pid } = started.json;
    assert.deepEqual(started.json, { pid, tag: 'echo', argv: ['cat'], running: true, dropped_bytes: { stdout: 0, stderr: 0 } });
    const listed = await service.curl('GET', base(), admin);
    assert.deepEqual(listed.json.map((p) => p.pid), [pid]);
    expectError(await service.curl('POST', base(), { ...admin, json: { argv: ['cat'], tag: 'echo' } }), 409, 'already_exists', 'echo');

    const attachedNow = async () => {
      const metrics = await service.fetch('GET', '/metrics', admin);
      const line = metrics.text.split('\n').find((l) => l.startsWith('hutch_open_streams{kind="process"}'));
      assert.ok(line, metrics.text);
      return Number(line.split(' ')[1]);
    };
    assert.equal(await attachedNow(), 0);
    const first = await Attachment.open(service, `${base()}/${pid}`);
    await first.until('attached', (a) => a.messages.length >= 1);
    assert.equal(await attachedNow(), 1, 'the open streams gauge counts an attachment');
    assert.deepEqual(first.messages[0], { type: 'attached', pid, dropped_bytes: { stdout: 0, stderr: 0 } });
    first.send('hello\n');
    await first.until('the echo', (a) => a.text() === 'hello\n');
    first.ws.close();
    await first.closed;
    // Detached, it runs on: still listed, still running.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await attachedNow(), 0);
    const after = await service.curl('GET', `${base()}/${pid}`, admin);
    assert.equal(after.status, 200, after.text);
    assert.equal(after.json.running, true);

    const second = await Attachment.open(service, `${base()}/${pid}`);
    await second.until('the replay', (a) => a.text() === 'hello\n');
    second.send('again\n');
    await second.until('the new echo', (a) => a.text() === 'hello\nagain\n');
    second.control({ type: 'close_stdin' });
    await second.until('the exit', (a) => a.messages.some((m) => m.type === 'exit'));
    assert.equal(second.messages.find((m) => m.type === 'exit').exit_code, 0);
    assert.equal(await second.closed, 1000);
    // Ended, it is no longer listed.
    expectError(await service.curl('GET', `${base()}/${pid}`, admin), 404, 'not_found', String(pid));
  });

  it('keeps the newest 1 MiB of a stream and counts what it dropped', async () => {
    const started = await service.curl('POST', base(), { ...admin, json: { argv: ['cat'] } });
    assert.equal(started.status, 201, started.text);
    const { pid } = started.json;
    const feeder = await Attachment.open(service, `${base()}/${pid}`);
    const total = 3 * MiB;
    const piece = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent < total; sent += piece.length) feeder.send(piece);
    await feeder.until('all of it back', (a) => a.stdoutBytes === total, 60000);
    feeder.ws.close();
    await feeder.closed;
    const seen = await service.curl('GET', `${base()}/${pid}`, admin);
    const dropped = seen.json.dropped_bytes.stdout;
    assert.ok(dropped >= total - MiB - 64 * 1024 && dropped <= total - MiB, `dropped ${dropped}`);
    // A new attachment gets exactly what was not dropped.
    const later = await Attachment.open(service, `${base()}/${pid}`);
    await later.until('the kept window', (a) => a.messages.length >= 1 && a.stdoutBytes === total - dropped);
    assert.deepEqual(later.messages[0].dropped_bytes, { stdout: dropped, stderr: 0 });
    later.control({ type: 'close_stdin' });
    await later.until('the exit', (a) => a.messages.some((m) => m.type === 'exit'));
    assert.equal(later.stdoutBytes, total - dropped);
  });

  it('a signal ends one, and its end is an "exited" event', async () => {
    const events = await EventStream.open(service, { ...admin, query: `?sandbox=${id}&type=exited` });
    const started = await service.curl('POST', base(), { ...admin, json: { argv: ['sleep', '600'], tag: 'sleeper' } });
    assert.equal(started.status, 201, started.text);
    const { pid } = started.json;
    expectError(await service.curl('POST', `${base()}/${pid}/signal`, { ...admin, json: { signal: 99 } }), 400, 'invalid_argument', 'signal');
    expectError(await service.curl('POST', `${base()}/abc/signal`, { ...admin, json: { signal: 9 } }), 400, 'invalid_argument', 'pid');
    assert.equal((await service.curl('POST', `${base()}/${pid}/signal`, { ...admin, json: { signal: 9 } })).status, 204);
    await events.until('exited', (list) => list.some((e) => e.data.details.pid === pid));
    const exited = events.events.find((e) => e.data.details.pid === pid);
    assert.equal(exited.data.details.tag, 'sleeper');
    assert.equal(exited.data.details.signal, 9, JSON.stringify(exited.data));
    events.close();
    const listed = await service.curl('GET', base(), admin);
    assert.ok(!listed.json.some((p) => p.pid === pid), JSON.stringify(listed.json));
  });

  it('another tenant cannot see or attach to a sandbox\'s processes', async () => {
    const started = await service.curl('POST', base(), { ...admin, json: { argv: ['sleep', '600'] } });
    const { pid } = started.json;
    expectError(await service.curl('GET', base(), { token: tokens.alice }), 404, 'not_found');
    const refused = await Attachment.open(service, `${base()}/${pid}`, { token: tokens.alice });
    assert.equal(refused.httpStatus, 404);
    assert.equal((await service.curl('POST', `${base()}/${pid}/signal`, { ...admin, json: { signal: 9 } })).status, 204);
  });
});
