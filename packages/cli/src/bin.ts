#!/usr/bin/env node
// The `keybound` executable: the only place that hands argv, env and cwd to the commands.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
});
