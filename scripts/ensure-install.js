#!/usr/bin/env node
/*
 * Runs before `npm start`, `npm test` and the other entry points, so a fresh clone needs nothing
 * but Node.js, npm and ffmpeg: installs the dependencies with `npm ci` (exactly the lock file) when
 * they are missing or older than the lock. The ffmpeg-static package downloads its binary at
 * install time unless FFMPEG_BIN names one, so an ffmpeg found on PATH is handed to it (and used at
 * run time too).
 */
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');

function findFfmpeg() {
  if (process.env.FFMPEG_BIN) return process.env.FFMPEG_BIN;
  try {
    return execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const stale = !existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs);
if (stale) {
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) {
    console.warn(
      'aiprod: ffmpeg is not on PATH; ffmpeg-static will try to download one. Install ffmpeg (e.g. apt-get install ffmpeg) if that fails.',
    );
  }
  const env = ffmpeg ? { ...process.env, FFMPEG_BIN: ffmpeg } : process.env;
  console.log('aiprod: installing dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
