// The emulator in a process of its own, so it never shares an event loop with a sender.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/pushcast.js', import.meta.url));

export async function startEmulatorProcess(dir, args) {
  const child = spawn(process.execPath, [bin, 'emulator', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ctrl-C')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  const configPath = join(dir, 'pushcast.emulator.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  const url = /on (https:\S+)/.exec(output)[1];
  const call = (method, path) =>
    new Promise((resolve, reject) => {
      const req = request(`${url}${path}`, { method, ca: config.ca }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(body ? JSON.parse(body) : undefined));
      });
      req.on('error', reject);
      req.end();
    });
  return {
    child,
    url,
    config,
    configPath,
    stats: () => call('GET', '/_emulator/stats'),
    reset: () => call('POST', '/_emulator/reset'),
    stop: () => child.kill('SIGINT'),
  };
}
