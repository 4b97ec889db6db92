// The caps of [serve] (server/caps.hpp) through a real `hutch serve` on the fake backend: past
// max_streams_per_token, max_requests_per_token, max_sandboxes_per_token or max_sandboxes a
// request gets 429 rate_limited naming the cap and its value, with Retry-After; other tokens
// are not held back by one token's cap; a place comes back when what held it ends; sandboxes
// are counted from their labels, so a restarted service counts the same.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Service, tokens, expectError, wsScheme, retriedWhile429 } from './service_fixture.mjs';
import { stream } from './stream_client.mjs';

// Asserts a refused WebSocket upgrade: 429, the cap named, Retry-After.
function expectRefused(result, needle) {
  assert.equal(result.httpStatus, 429, JSON.stringify(result));
  assert.equal(result.body.error.code, 'rate_limited');
  assert.ok(result.body.error.message.includes(needle), result.body.error.message);
  assert.equal(result.headers['retry-after'], '1');
}

// `cat` streamed by `token` in sandbox `id`; `whileOpen()` runs once it started, then its stdin
// gets `text` and is closed. Resolves with the stream's result.
function heldStream(service, id, token, whileOpen, text = 'still works') {
  const url = `${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${id}/exec`;
  return stream(url, { argv: ['cat'] }, {
    token,
    script: async (ws) => {
      await new Promise((resolve) => ws.on('message', (data, binary) => { if (!binary && JSON.parse(data).type === 'started') resolve(); }));
      await whileOpen(url);
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(text)]));
      ws.send(JSON.stringify({ type: 'close_stdin' }));
    },
  });
}

async function createFor(service, token) {
  return service.curl('POST', '/v1/sandboxes', { token, json: { image: 'host' } });
}

describe('caps (429 rate_limited)', () => {
  it('max_streams_per_token = 1: a second stream of the token is refused, another token streams, the first goes on, and a new one is taken once it ended', async () => {
    const service = await Service.start({ serveTable: 'max_streams_per_token = 1' });
    try {
      const sandbox = await createFor(service, tokens.admin);
      assert.equal(sandbox.status, 201, sandbox.text);
      const alices = await createFor(service, tokens.alice);
      assert.equal(alices.status, 201, alices.text);
      let refused, other;
      const first = await heldStream(service, sandbox.json.id, tokens.admin, async (url) => {
        refused = await stream(url, { argv: ['echo', 'second'] }, { token: tokens.admin });
        other = await stream(`${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${alices.json.id}/exec`,
          { argv: ['echo', 'alice'] }, { token: tokens.alice });
      });
      expectRefused(refused, 'max_streams_per_token = 1 reached: 1 streams held by token \'admin\'');
      // Another token's stream is not held back by the admin's cap.
      assert.equal(other.stdoutText, 'alice\n', JSON.stringify(other));
      assert.equal(first.stdoutText, 'still works');
      assert.equal(first.exit?.exit_code, 0);
      // The first's place is given back when its handler ends, just after the client saw the close.
      const again = await retriedWhile429(() => stream(`${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${sandbox.json.id}/exec`,
        { argv: ['echo', 'again'] }, { token: tokens.admin }));
      assert.equal(again.stdoutText, 'again\n', JSON.stringify(again));
    } finally {
      await service.stop();
    }
  });

  it('counts exactly under concurrency: of 8 streams opened at once with max_streams_per_token = 3, 3 run and 5 get 429, twice', async () => {
    const service = await Service.start({ serveTable: 'max_streams_per_token = 3' });
    try {
      const sandbox = await createFor(service, tokens.admin);
      const url = `${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${sandbox.json.id}/exec`;
      for (const round of [1, 2]) {
        const results = await Promise.all(Array.from({ length: 8 }, () => stream(url, { argv: ['sleep', '1'] }, { token: tokens.admin })));
        const ran = results.filter((result) => result.exit?.exit_code === 0).length;
        const refused = results.filter((result) => result.httpStatus === 429).length;
        assert.deepEqual({ round, ran, refused }, { round, ran: 3, refused: 5 }, JSON.stringify(results.map((r) => r.httpStatus ?? r.exit)));
        // Every place is back once the streams ended (their handlers return just after the close).
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await service.stop();
    }
  });

  it('max_streams = 1 holds every token; max_requests_per_token = 1 counts a stream as a request of its token', async () => {
    const service = await Service.start({ serveTable: 'max_streams = 1\nmax_requests_per_token = 1' });
    try {
      const alices = await createFor(service, tokens.alice);
      const bobs = await createFor(service, tokens.bob);
      assert.equal(bobs.status, 201, bobs.text);
      let bobRefused, aliceRequest, adminRequest;
      const first = await heldStream(service, alices.json.id, tokens.alice, async () => {
        const url = `${wsScheme}://127.0.0.1:${service.port}/v1/sandboxes/${bobs.json.id}/exec`;
        bobRefused = await stream(url, { argv: ['echo', 'bob'] }, { token: tokens.bob });
        aliceRequest = await service.curl('GET', '/v1/sandboxes', { token: tokens.alice });
        adminRequest = await service.curl('GET', '/v1/sandboxes', { token: tokens.admin });
      });
      expectRefused(bobRefused, 'max_streams = 1 reached: 1 streams held in all');
      expectError(aliceRequest, 429, 'rate_limited', "max_requests_per_token = 1 reached: 1 requests held by token 'alice'");
      assert.equal(adminRequest.status, 200, adminRequest.text);
      assert.equal(first.stdoutText, 'still works');
      // Once alice's stream ended her requests are served again.
      const after = await retriedWhile429(() => service.curl('GET', '/v1/sandboxes', { token: tokens.alice }));
      assert.equal(after.status, 200, after.text);
    } finally {
      await service.stop();
    }
  });

  it('max_sandboxes_per_token = 2 and max_sandboxes = 3: counted per token and in all, from the labels after a restart too', async () => {
    const service = await Service.start({ serveTable: 'max_sandboxes_per_token = 2\nmax_sandboxes = 3' });
    try {
      const a1 = await createFor(service, tokens.alice);
      assert.equal(a1.status, 201, a1.text);
      assert.equal(a1.json.labels['hutch.token'], 'alice');
      assert.equal((await createFor(service, tokens.alice)).status, 201);
      expectError(await createFor(service, tokens.alice), 429, 'rate_limited', "max_sandboxes_per_token = 2 reached: 2 sandboxes held by token 'alice'");
      const b1 = await createFor(service, tokens.bob);
      assert.equal(b1.status, 201, b1.text);
      expectError(await createFor(service, tokens.bob), 429, 'rate_limited', 'max_sandboxes = 3 reached: 3 sandboxes held in all');
      // A fork is a new sandbox too.
      expectError(await service.curl('POST', `/v1/sandboxes/${a1.json.id}/fork`, { token: tokens.alice }), 429, 'rate_limited', 'max_sandboxes');
      // The count comes from the backends' lists: a restarted service knows it.
      await service.restartAfterKill();
      assert.equal((await service.curl('DELETE', `/v1/sandboxes/${b1.json.id}`, { token: tokens.bob })).status, 204);
      expectError(await createFor(service, tokens.alice), 429, 'rate_limited', 'max_sandboxes_per_token = 2');
      // A removed sandbox gives its place back at once (DELETE marks it; it is not counted).
      assert.equal((await service.curl('DELETE', `/v1/sandboxes/${a1.json.id}`, { token: tokens.alice })).status, 204);
      assert.equal((await createFor(service, tokens.alice)).status, 201);
    } finally {
      await service.stop();
    }
  });

  it('refuses a cap that is not a positive integer, naming the key', async () => {
    await assert.rejects(Service.start({ serveTable: 'max_streams = 0' }), /serve\.max_streams: expected an integer from 1/);
  });
});
