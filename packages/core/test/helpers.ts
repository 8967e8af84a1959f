export * from '@keybound/core';
export { nodeCrypto as nodeCryptoForTests } from '@keybound/core/node';
