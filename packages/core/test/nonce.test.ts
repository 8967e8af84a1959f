import { describe, expect, it } from 'vitest';
import { NonceManager, webCrypto } from './helpers.js';

const S1 = 'first-secret-first-secret-first-s';
const S2 = 'second-secret-second-secret-secon';
const T = 1_700_000_000;

describe('stateless DPoP nonces', () => {
  it('issues NQCHAR-only values (RFC 9449 §8.1)', async () => {
    const n = new NonceManager({ secrets: [S1] });
    for (let t = T; t < T + 3600; t += 60) {
      expect(await n.issue(t)).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
    }
  });

  it('accepts on one instance what another instance sharing the secret issued', async () => {
    const a = new NonceManager({ secrets: [S1] });
    const b = new NonceManager({ secrets: [S1] });
    expect(await b.check(await a.issue(T), T)).toBe('valid');
  });

  it('gives the same nonce through node:crypto and WebCrypto', async () => {
    const a = new NonceManager({ secrets: [S1] });
    const b = new NonceManager({ secrets: [S1], crypto: webCrypto });
    expect(await a.issue(T)).toBe(await b.issue(T));
  });

  it('accepts a nonce for its step and the configured past steps, then calls it stale', async () => {
    const n = new NonceManager({ secrets: [S1], stepSeconds: 60, acceptPastSteps: 2 });
    const nonce = await n.issue(T);
    const stepStart = Math.floor(T / 60) * 60;
    expect(await n.check(nonce, stepStart)).toBe('valid');
    expect(await n.check(nonce, stepStart + 179)).toBe('valid');
    expect(await n.check(nonce, stepStart + 180)).toBe('stale');
  });

  it('tolerates a nonce one step ahead (another instance with a slightly fast clock) but not two', async () => {
    const n = new NonceManager({ secrets: [S1], stepSeconds: 60 });
    expect(await n.check(await n.issue(T + 60), T)).toBe('valid');
    expect(await n.check(await n.issue(T + 120), T)).toBe('stale');
  });

  it('rotates secrets: the first signs, every secret verifies', async () => {
    const old = new NonceManager({ secrets: [S1] });
    const rotated = new NonceManager({ secrets: [S2, S1] });
    const oldNonce = await old.issue(T);
    expect(await rotated.check(oldNonce, T)).toBe('valid');
    const newNonce = await rotated.issue(T);
    expect(newNonce).not.toBe(oldNonce);
    expect(await old.check(newNonce, T)).toBe('invalid');
  });

  it('keeps nonces of different contexts apart', async () => {
    const as = new NonceManager({ secrets: [S1], context: 'as' });
    const rs = new NonceManager({ secrets: [S1], context: 'rs' });
    expect(await rs.check(await as.issue(T), T)).toBe('invalid');
  });

  it('calls forged, truncated and malformed nonces invalid', async () => {
    const n = new NonceManager({ secrets: [S1] });
    const good = await n.issue(T);
    const [step, mac] = good.split('.');
    const flipped = `${step}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [
      flipped,
      `${step}.`,
      `zzzzzzzzzzzz.${mac}`,
      `${(Number.parseInt(step!, 36) + 1).toString(36)}.${mac}`,
      '',
      'x'.repeat(5000),
      `${good} `,
      42 as unknown as string,
    ]) {
      expect(await n.check(bad, T)).toBe('invalid');
    }
  });

  it('refuses a stepSeconds that is not a finite number >= 1 with a TypeError naming it', () => {
    for (const stepSeconds of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0,
      0.5,
      -60,
      '60',
    ]) {
      expect(() => new NonceManager({ secrets: [S1], stepSeconds: stepSeconds as number })).toThrow(
        TypeError,
      );
      expect(() => new NonceManager({ secrets: [S1], stepSeconds: stepSeconds as number })).toThrow(
        /stepSeconds/,
      );
    }
    expect(() => new NonceManager({ secrets: [S1], stepSeconds: 1 })).not.toThrow();
  });

  it('refuses an acceptPastSteps window that is not a finite integer >= 0 with a TypeError naming it', () => {
    for (const acceptPastSteps of [Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, '2']) {
      const make = () => new NonceManager({ secrets: [S1], acceptPastSteps: acceptPastSteps as number });
      expect(make).toThrow(TypeError);
      expect(make).toThrow(/acceptPastSteps/);
    }
    expect(() => new NonceManager({ secrets: [S1], acceptPastSteps: 0 })).not.toThrow();
  });

  it('refuses a non-finite now in issue and check with a TypeError', async () => {
    const n = new NonceManager({ secrets: [S1] });
    const nonce = await n.issue(T);
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY, '1700000000']) {
      await expect(n.issue(now as number)).rejects.toThrow(TypeError);
      await expect(n.check(nonce, now as number)).rejects.toThrow(TypeError);
    }
  });

  it('refuses short secrets and an empty secret list', () => {
    expect(() => new NonceManager({ secrets: ['short'] })).toThrow(/at least 32 bytes/);
    expect(() => new NonceManager({ secrets: [] })).toThrow();
  });
});
