// keybound keys generate [--alg ES256]: a new key pair as JSON, for `keybound proof --key FILE`.
import { exportPrivateJwk, generateDpopKey, type JwsAlgorithm } from '@keybound/core';
import { clip, defineCommand, stringOption, UsageError } from '../args.js';
import { type CommandIo, EXIT } from '../io.js';

/** Algorithms `keys generate` offers. */
export const KEY_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'RS256'] as const;

function isKeyAlgorithm(value: string): value is (typeof KEY_ALGORITHMS)[number] {
  return (KEY_ALGORITHMS as readonly string[]).includes(value);
}

export const generate = defineCommand(
  {
    name: 'keys generate',
    synopsis: '[--alg ALG]',
    description:
      'Prints a new private JWK, its public JWK and its RFC 7638 thumbprint (jkt) as JSON.\n' +
      'The private key is printed in the clear: write it to a file only you can read.',
    options: {
      alg: {
        type: 'string',
        valueName: 'ALG',
        description: `${KEY_ALGORITHMS.join(', ')} (default ES256; ES512 is not in verifiers' default list)`,
      },
    },
    epilog: 'example:\n  (umask 077; keybound keys generate --alg ES256 > client-key.json)',
  },
  async ({ values }, io) => {
    const alg = stringOption(values, 'alg') ?? 'ES256';
    if (!isKeyAlgorithm(alg)) {
      throw new UsageError(`--alg must be one of ${KEY_ALGORITHMS.join(', ')}, not '${clip(alg)}'`);
    }
    const key = await generateDpopKey(alg as JwsAlgorithm, { extractable: true });
    const privateJwk = { ...(await exportPrivateJwk(key)), alg };
    const publicJwk = { ...key.publicJwk, alg };
    io.stdout.write(`${JSON.stringify({ privateJwk, publicJwk, jkt: key.jkt }, null, 2)}\n`);
    return EXIT.ok;
  },
);

const SUBCOMMANDS: Record<string, typeof generate> = { generate };

const HELP = `usage: keybound keys <subcommand>

subcommands:
  generate   print a new private JWK, its public JWK and thumbprint

keybound keys <subcommand> --help for its options
`;

export async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const command = sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (command === undefined) {
    const what = sub === undefined ? 'missing subcommand' : `unknown subcommand '${clip(sub)}'`;
    io.stderr.write(`keybound keys: ${what}; see 'keybound keys --help'\n`);
    return EXIT.usage;
  }
  return command(rest, io);
}
