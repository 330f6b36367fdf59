/**
 * A caller that stops reading a stream must not make the gateway hold the whole stream in
 * memory (a 96 MB stream had grown its RSS by 110 MB): the relay waits for the caller to
 * drain, so the gateway stops reading the provider and TCP pushes back to it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateConfig } from '../../src/core/config';
import { Gateway } from '../../src/gateway/server';
import { GATEWAY_TOKEN, PROVIDER_KEY } from '../support/stack';

const TOTAL = 64 * 1024 * 1024;
const EVENT = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'y'.repeat(4000) }, finish_reason: null }] })}\n\n`;

describe('backpressure on streams', () => {
  let upstream: http.Server;
  let gateway: Gateway;
  let sent = 0;
  before(async () => {
    upstream = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pump = () => {
        while (sent < TOTAL) {
          sent += EVENT.length;
          if (!res.write(EVENT)) return void res.once('drain', pump);
        }
        res.end('data: [DONE]\n\n');
      };
      pump();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const config = validateConfig({
      provider: 'dashscope',
      baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
      models: { 'qwen-plus': { rpm: 600, tpm: 10_000_000 } },
    });
    assert.ok(config.ok);
    gateway = new Gateway({ config: config.config, token: GATEWAY_TOKEN, apiKey: () => PROVIDER_KEY, port: 0 });
    await gateway.start();
  });
  after(async () => {
    await gateway.close(500);
    upstream.close();
  });

  it('stops reading the provider while the caller does not read', async () => {
    const req = http.request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
    });
    req.end(
      JSON.stringify({ model: 'qwen-plus', stream: true, messages: [{ role: 'user', content: 'a long answer' }] }),
    );
    const res = await new Promise<http.IncomingMessage>((r) => req.once('response', r));
    assert.equal(res.statusCode, 200);
    res.pause(); // the caller stops reading
    await new Promise((r) => setTimeout(r, 1_500));
    const heldBack = sent;
    console.log(
      `# a caller that does not read: the provider could send ${(heldBack / 2 ** 20).toFixed(1)} MB of ${TOTAL / 2 ** 20} MB`,
    );
    assert.ok(heldBack < 16 * 2 ** 20, `the gateway kept reading: ${heldBack} bytes`);
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await new Promise((r) => res.once('end', r));
    assert.ok(received >= TOTAL, 'and the whole stream arrives once the caller reads again');
  });
});
