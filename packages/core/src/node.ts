// @keybound/core/node: the node:crypto provider, for callers that want to name it explicitly.
export { nodeCrypto } from './lib/crypto-node.js';
