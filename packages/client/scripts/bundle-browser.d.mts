export interface BrowserBundle {
  outfile: string;
  /** Minified size in bytes. */
  bytes: number;
  /** Minified and gzipped (level 9) size in bytes. */
  gzipBytes: number;
  /** The source modules that went into the bundle. */
  inputs: string[];
}

/** Bundles the browser entry (ESM, minified) into outfile and measures it. */
export function bundleBrowser(outfile?: string): Promise<BrowserBundle>;
