// The one table of keybound commands. Each entry loads its module only when that command runs,
// so `keybound proof` does not pay for the servers. A command module exports
// `run(argv, io): Promise<number>` (the exit code); see ../io.ts and ../args.ts (defineCommand).
import type { CommandRun } from '../io.js';

export interface CommandEntry {
  /** One line for `keybound --help`. */
  summary: string;
  load: () => Promise<{ run: CommandRun }>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  serve: {
    summary: 'run an authorization server, a DPoP-protected demo API and the /demo page on one port',
    load: () => import('./serve.js'),
  },
  keys: {
    summary: 'keys generate: print a new private JWK, its public JWK and thumbprint',
    load: () => import('./keys.js'),
  },
  proof: {
    summary: 'print a DPoP proof for one request (curl -H "DPoP: $(keybound proof …)")',
    load: () => import('./proof.js'),
  },
  inspect: {
    summary: 'decode a DPoP proof or JWT access token, verify what can be verified, print JSON',
    load: () => import('./inspect.js'),
  },
  demo: {
    summary: 'show a DPoP-bound token accepted with its key and refused when copied or replayed',
    load: () => import('./demo.js'),
  },
};
