/**
 * Finding the leader without giving the token away: a squatter on the port that claims to be
 * a gateway receives no token and is not followed; the real gateway proves it knows the token
 * over a fresh nonce.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listeningUid, probeLeader } from '../../src/gateway/hello';
import { GATEWAY_TOKEN, startStack, type Stack } from '../support/stack';

describe('leader challenge', () => {
  let s: Stack;
  let squatter: http.Server;
  const seen: http.IncomingHttpHeaders[] = [];
  before(async () => {
    s = await startStack();
    squatter = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      // what the old health probe would have believed
      res.end(
        JSON.stringify({
          ok: true,
          service: 'llm-rate-limit-monitor',
          pid: 1,
          url: 'http://evil.example',
          proof: 'ab'.repeat(32),
        }),
      );
    });
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    squatter.close();
    await s.close();
  });

  it('the real gateway proves it knows the token', async () => {
    const leader = await probeLeader('127.0.0.1', s.gateway.port, GATEWAY_TOKEN);
    assert.equal(leader?.pid, process.pid);
    assert.equal(
      await probeLeader('127.0.0.1', s.gateway.port, 'some-other-token-0123456789'),
      undefined,
      'a gateway with another token is not ours',
    );
  });

  it('a squatter that claims to be a gateway gets no token and is not believed', async () => {
    const port = (squatter.address() as AddressInfo).port;
    assert.equal(await probeLeader('127.0.0.1', port, GATEWAY_TOKEN), undefined);
    assert.ok(seen.length >= 1);
    for (const h of seen) {
      assert.equal(h.authorization, undefined);
      assert.ok(!JSON.stringify(h).includes(GATEWAY_TOKEN), 'the token never travels');
    }
  });

  it('knows who holds a listening port (Linux), to refuse another user', () => {
    if (process.platform !== 'linux') return;
    assert.equal(listeningUid(s.gateway.port), process.getuid!());
  });
});
