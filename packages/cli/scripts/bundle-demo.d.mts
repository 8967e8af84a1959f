export interface DemoBundle {
  outdir: string;
  files: string[];
  /** app.js minified, in bytes. */
  bytes: number;
  /** app.js minified and gzipped (level 9), in bytes. */
  gzipBytes: number;
}

/** Bundles the /demo page (index.html, style.css, app.js) into outdir (default: dist/demo-page). */
export function bundleDemo(outdir?: string): Promise<DemoBundle>;
