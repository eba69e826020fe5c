// Proxyless gRPC end to end: a service registered in the catalog is dialed as
// `xds:///<service>` by real xDS clients — grpc-js (@grpc/grpc-js-xds) and gRPC C-core (Debian
// python3-grpcio) — over state-of-the-world ADS, and both follow an endpoint change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from '../support/agent-process.js';
import { grpcBootstrap, grpcJsXdsClient, PythonXdsClient, startGreeter, type GreeterServer } from '../support/grpc-peers.js';
import { waitFor } from '../support/wait.js';

describe('proxyless gRPC clients resolve a catalog service through xds:///', { concurrency: false }, () => {
  let agent: AgentProcess;
  let first: GreeterServer;
  let second: GreeterServer;
  let js: Awaited<ReturnType<typeof grpcJsXdsClient>> | undefined;
  let py: PythonXdsClient | undefined;

  before(async () => {
    agent = await AgentProcess.start();
    first = await startGreeter('first');
    second = await startGreeter('second');
    await agent.api.put('/v1/agent/service/register', { ID: 'greeter-1', Name: 'greeter', Address: '127.0.0.1', Port: first.port });
  });

  after(async () => {
    js?.close();
    py?.stop();
    await first?.close();
    await second?.close();
    await agent?.dispose();
  });

  it('grpc-js reaches the registered instance', async () => {
    js = await grpcJsXdsClient('xds:///greeter', grpcBootstrap(agent.grpcPort, 'grpc-js-client'));
    const reply = await waitFor('grpc-js to get an answer through xds:///greeter', async () => js?.hello(), { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(reply, 'hello from first');
  });

  it('gRPC C-core (python3-grpcio) reaches the registered instance', async () => {
    py = await PythonXdsClient.start('xds:///greeter', grpcBootstrap(agent.grpcPort, 'python-client'));
    await waitFor('the C-core client to get an answer', () => py?.output().includes('ok hello from first'), { timeoutMs: 30_000, intervalMs: 100 }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- python client ---\n${py?.output().slice(-2000)}\n--- agent ---\n${agent.output().slice(-2000)}`);
    });
  });

  it('both follow an endpoint change to a new instance', async () => {
    const mark = py?.output().length ?? 0;
    await agent.api.put('/v1/agent/service/register', { ID: 'greeter-2', Name: 'greeter', Address: '127.0.0.1', Port: second.port });
    await agent.api.put('/v1/agent/service/deregister/greeter-1');
    await waitFor('grpc-js to answer from the new instance', async () => (await js?.hello()) === 'hello from second', { timeoutMs: 30_000, intervalMs: 100 });
    await waitFor('the C-core client to answer from the new instance', () => py?.linesSince(mark).includes('ok hello from second'), { timeoutMs: 30_000, intervalMs: 100 });
    // Once switched, the removed instance gets nothing more.
    const replies = await Promise.all(Array.from({ length: 5 }, () => js?.hello()));
    assert.deepEqual(replies, Array(5).fill('hello from second'));
  });
});
