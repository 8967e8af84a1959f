// One resource-server process for the cross-process tests: the node:http adapter with a Redis
// replay store and stateless nonces. Reads its policy and settings from KEYBOUND_TEST_RS (JSON),
// prints {"port": n} when listening, exits on SIGTERM.
import { createServer } from 'node:http';
import { NonceManager, RedisReplayStore } from '@keybound/core';
import { createResourceServer } from '@keybound/resource-server';
import { keyboundHandler } from '@keybound/resource-server/node';
import { Redis } from 'ioredis';

interface Settings {
  policy: unknown;
  redisUrl: string;
  prefix: string;
  nonceSecret: string;
}

const settings = JSON.parse(process.env.KEYBOUND_TEST_RS ?? '{}') as Settings;
const redis = new Redis(settings.redisUrl, { enableAutoPipelining: true });
const rs = createResourceServer({
  policy: settings.policy,
  replayStore: new RedisReplayStore({ client: redis, prefix: settings.prefix }),
  nonces: new NonceManager({ secrets: [settings.nonceSecret], context: 'rs' }),
});
const server = createServer(
  keyboundHandler(rs, (_req, res, auth) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pid: process.pid, binding: auth.binding, jkt: auth.jkt }));
  }),
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
