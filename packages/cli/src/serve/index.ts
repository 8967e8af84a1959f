// @keybound/cli/serve: what `keybound serve` runs, for tests and for programs that embed it.
export { API_DEFAULT_RULE, buildApiPolicy } from './api-policy.js';
export {
  API_PATH,
  apiResource,
  buildAuthorizationServerConfig,
  DEMO_PATH,
} from './authorization-server-config.js';
export { banner, KEYBOUND_BIN, keyboundCommand, tryItLines } from './banner.js';
export { DEFAULT_CONFIG_FILE, loadConfigFile, parseConfigText } from './config-file.js';
export { HELLO_PATH } from './demo-api.js';
export {
  CREDENTIALS_FILE,
  DEMO_KEY_FILE,
  DEMO_SERVICE_CLIENT_ID,
  DEMO_SPA_CLIENT_ID,
  type DemoCredentials,
  loadOrCreateDemoCredentials,
} from './demo-credentials.js';
export { DEFAULT_DEMO_ASSETS_DIR, DEMO_CSP, DEMO_FILES, type DemoPageConfig } from './demo-page.js';
export { loadServeConfig } from './load-serve-config.js';
export {
  type ConfigIssue,
  DEFAULT_DATA_DIR,
  DEFAULT_PORT,
  readServeConfig,
  type ServeConfig,
  ServeConfigError,
  type ServeFlags,
} from './serve-config.js';
export {
  checkServeConfig,
  type RunningServe,
  type ServeUrls,
  type StartServeOptions,
  startServe,
} from './start-serve.js';
