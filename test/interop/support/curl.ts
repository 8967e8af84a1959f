// The curl binary, run as a child process: one request, its status, headers and body.
import { execFile } from 'node:child_process';

export interface CurlResponse {
  status: number;
  headers: Headers;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export interface CurlRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** Client certificate and key files (PEM). */
  cert?: { certPath: string; keyPath: string };
  /** CA file to verify the server with. */
  cacert?: string;
  /** Local address to send from (curl --interface), e.g. 127.0.0.2 to be a peer the RS does not trust. */
  from?: string;
}

/** Runs curl; resolves with the response, rejects when curl itself fails (TLS, connection). */
export function curl(binary: string, request: CurlRequest): Promise<CurlResponse> {
  const args = ['--silent', '--show-error', '--http1.1', '--max-time', '15', '--include'];
  if (request.method !== undefined) args.push('--request', request.method);
  for (const [name, value] of Object.entries(request.headers ?? {}))
    args.push('--header', `${name}: ${value}`);
  for (const [name, value] of Object.entries(request.form ?? {}))
    args.push('--data-urlencode', `${name}=${value}`);
  if (request.cert !== undefined) args.push('--cert', request.cert.certPath, '--key', request.cert.keyPath);
  if (request.cacert !== undefined) args.push('--cacert', request.cacert);
  if (request.from !== undefined) args.push('--interface', request.from);
  args.push('--', request.url);
  return new Promise((resolve, reject) => {
    execFile(binary, args, { encoding: 'utf8', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`curl failed (${error.code}): ${stderr.trim()}`));
        return;
      }
      const end = stdout.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = stdout.slice(0, end).split('\r\n');
      const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1]);
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      const body = stdout.slice(end + 4);
      resolve({ status, headers, body, json: () => JSON.parse(body) });
    });
  });
}
