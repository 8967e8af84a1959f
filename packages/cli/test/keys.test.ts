import { jwkThumbprint, verifyProof } from '@keybound/core';
import { afterAll, describe, expect, it } from 'vitest';
import { KEY_ALGORITHMS } from '../src/commands/keys.js';
import { cli, json, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

describe('keybound keys generate', () => {
  for (const alg of KEY_ALGORITHMS) {
    it(`prints a ${alg} private JWK, its public JWK and its RFC 7638 thumbprint, usable for proofs`, async () => {
      const r = await cli(['keys', 'generate', '--alg', alg]);
      expect(r.code).toBe(0);
      const out = json(r) as {
        privateJwk: Record<string, string>;
        publicJwk: Record<string, string>;
        jkt: string;
      };
      expect(Object.keys(out).sort()).toEqual(['jkt', 'privateJwk', 'publicJwk']);
      expect(out.privateJwk.alg).toBe(alg);
      expect(typeof out.privateJwk.d).toBe('string');
      for (const m of PRIVATE_MEMBERS) expect(out.publicJwk).not.toHaveProperty(m);
      expect(out.jkt).toBe(await jwkThumbprint(out.publicJwk));
      expect(out.jkt).toBe(await jwkThumbprint(out.privateJwk));

      const file = tmp.write(`${alg}.json`, r.stdout);
      const proof = await cli(['proof', '--key', file, '--htm', 'GET', '--htu', 'https://api.example/r']);
      expect(proof.code).toBe(0);
      const verified = await verifyProof(proof.stdout.trim(), {
        htm: 'GET',
        htu: 'https://api.example/r',
        algorithms: [alg],
      });
      expect(verified.jkt).toBe(out.jkt);
      expect(verified.alg).toBe(alg);
    });
  }

  it('generates ES256 when no --alg is given, and a new key every time', async () => {
    const a = json(await cli(['keys', 'generate'])) as {
      privateJwk: { crv: string; alg: string };
      jkt: string;
    };
    const b = json(await cli(['keys', 'generate'])) as { jkt: string };
    expect(a.privateJwk).toMatchObject({ crv: 'P-256', alg: 'ES256' });
    expect(a.jkt).not.toBe(b.jkt);
  });

  for (const alg of ['HS256', 'none', 'es256', 'Ed25519', 'RS512', '']) {
    it(`refuses --alg '${alg}' with exit 2`, async () => {
      const r = await cli(['keys', 'generate', '--alg', alg]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^keybound keys generate: --alg must be one of ES256, ES384, ES512, EdDSA, PS256, RS256/,
      );
    });
  }

  it('refuses --alg without a value', async () => {
    expect((await cli(['keys', 'generate', '--alg'])).code).toBe(2);
  });

  it('refuses a missing or unknown subcommand with exit 2', async () => {
    expect(await cli(['keys'])).toMatchObject({
      code: 2,
      stderr: "keybound keys: missing subcommand; see 'keybound keys --help'\n",
    });
    expect((await cli(['keys', 'rotate'])).code).toBe(2);
    expect((await cli(['keys', 'constructor'])).code).toBe(2);
  });

  it('lists its subcommands with --help', async () => {
    const r = await cli(['keys', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('generate');
  });
});
