// One pass over the received header list that keeps every value of the headers protect() reads,
// so that a duplicated Authorization or DPoP header is seen as the duplicate it is.
import type { HeaderList } from '../facts.js';

export class HeaderView {
  readonly #list: HeaderList;
  readonly #wanted: ReadonlySet<string>;
  readonly #values = new Map<string, string[]>();

  /** Collects the values of `wanted` (lower-case names) from the list. */
  constructor(list: HeaderList, wanted: ReadonlySet<string>) {
    this.#list = list;
    this.#wanted = wanted;
    if (list.length === 0) return;
    if (typeof list[0] === 'string') {
      const flat = list as readonly string[];
      for (let i = 0; i + 1 < flat.length; i += 2) this.#add(flat[i]!, flat[i + 1]!);
    } else {
      for (const pair of list as ReadonlyArray<readonly [string, string]>) this.#add(pair[0], pair[1]);
    }
  }

  #add(name: string, value: string): void {
    const lower = name.toLowerCase();
    if (!this.#wanted.has(lower)) return;
    const existing = this.#values.get(lower);
    if (existing === undefined) this.#values.set(lower, [value]);
    else existing.push(value);
  }

  /** Every value of a header (lower-case name), in order; undefined when absent. */
  all(name: string): string[] | undefined {
    if (this.#wanted.has(name)) return this.#values.get(name);
    const out: string[] = [];
    const list = this.#list;
    if (list.length > 0 && typeof list[0] === 'string') {
      const flat = list as readonly string[];
      for (let i = 0; i + 1 < flat.length; i += 2)
        if (flat[i]!.toLowerCase() === name) out.push(flat[i + 1]!);
    } else {
      for (const [n, v] of list as ReadonlyArray<readonly [string, string]>)
        if (n.toLowerCase() === name) out.push(v);
    }
    return out.length === 0 ? undefined : out;
  }

  /** The first value of a header, or undefined. */
  first(name: string): string | undefined {
    return this.all(name)?.[0];
  }

  has(name: string): boolean {
    return this.all(name) !== undefined;
  }
}
