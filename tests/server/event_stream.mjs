// A client of GET /v1/events (Server-Sent Events) for the API tests: node's fetch over the
// service's TCP port, the stream parsed as it comes, each event checked against openapi.json.
import assert from 'node:assert/strict';
import { openapi } from './service_fixture.mjs';

// One open GET /v1/events over TCP (node's fetch), parsed as it comes.
export class EventStream {
  static async open(service, { token, query = '', headers = {} }) {
    const stream = new EventStream();
    stream.controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${service.port}/v1/events${query}`, {
      headers: { authorization: `Bearer ${token}`, ...headers }, signal: stream.controller.signal,
    });
    stream.status = response.status;
    stream.contentType = response.headers.get('content-type') || '';
    if (response.status !== 200) {
      stream.text = await response.text();
      return stream;
    }
    assert.deepEqual(openapi.checkResponse('GET', '/v1/events', 200, stream.contentType, ''), []);
    stream.events = [];
    stream.comments = [];
    stream.notices = [];  // event: gap, event: overflow
    stream.waiters = [];
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    stream.ended = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
          stream.#block(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
        }
      }
      assert.equal(buffered, '', 'the stream ended inside an event');
      return 'ended';
    })();
    stream.ended.catch(() => {}).finally(() => stream.#wake());
    return stream;
  }

  #block(block) {
    const event = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line);
        continue;
      }
      const colon = line.indexOf(': ');
      assert.ok(colon > 0, `malformed event line '${line}'`);
      event[line.slice(0, colon)] = line.slice(colon + 2);
    }
    if (event.event === undefined) return;  // a block of comments only
    event.data = JSON.parse(event.data);
    if (['gap', 'overflow'].includes(event.event)) {
      this.notices.push(event);
    } else {
      const problems = [];
      openapi.check(openapi.document.components.schemas.Event, event.data, '$', problems);
      assert.deepEqual(problems, [], `event ${JSON.stringify(event)} does not match openapi.json's Event`);
      assert.equal(event.data.type, event.event);
      assert.equal(String(event.data.id), event.id);
      this.events.push(event);
    }
    this.#wake();
  }

  #wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  // Resolves with the events so far once `done(events)` holds; fails after `ms`.
  async until(what, done, ms = 20000) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (done(this.events)) return this.events;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => [e.id, e.event, e.data.sandbox]))}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  of(sandbox) { return this.events.filter((e) => e.data.sandbox === sandbox); }
  close() { this.controller.abort(); }
}

