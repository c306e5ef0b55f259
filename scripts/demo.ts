/**
 * `npm run demo`: the main job end to end on the local stack. Makes a sample clip with ffmpeg,
 * uploads it through a signed upload URL, submits it over HTTP, follows the job, downloads the result
 * through its signed URL and prints what ffprobe and the loudness meter say about it.
 * Uses the stack on PORT when one is running (`npm start`), else starts one for the run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createApiKey } from '../shared/auth/api-keys';
import { startLocalPostgres } from '../shared/db/embedded';
import { connect } from '../shared/db';
import { migrateLatest } from '../shared/db/migrate';
import { loadFunction } from '../functions';
import { startStack, Stack } from '../shared/local/stack';
import { measureLoudness, probe } from '../shared/media';
import { makeSampleClip } from './sample-clip';

const dataDir = resolve(process.env.AIPROD_DATA_DIR ?? '.aiprod');
process.env.AIPROD_DATA_DIR = dataDir;
const port = Number(process.env.PORT ?? 8080);

async function running(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  let stack: Stack | undefined;
  let base = `http://127.0.0.1:${port}`;
  if (await running(base)) {
    console.log(`using the stack already running on ${base}`);
    if (!process.env.DATABASE_URL) process.env.DATABASE_URL = (await startLocalPostgres(dataDir)).url;
    process.env.PORT = String(port);
  } else {
    console.log('starting a local stack for the demo...');
    stack = await startStack({ loadFunction, port: 0, dataDir });
    base = stack.url;
  }
  const k = connect(process.env.DATABASE_URL!, 2);
  try {
    await migrateLatest(k);
    const { key } = await createApiKey(k, { name: 'demo', tier: 'pro' }, 'npm run demo');

    const dir = join(dataDir, 'demo');
    mkdirSync(dir, { recursive: true });
    const sample = join(dir, 'sample.mp4');
    console.log('making a 12 s 1280x720 H.264 sample clip...');
    makeSampleClip(sample, { seconds: 12, size: '1280x720', rate: 30, toneHz: 330, preset: 'veryfast' });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    // As a partner does: a signed upload URL, the file PUT to it, then its storage_uri submitted.
    const video = readFileSync(sample);
    const requested = await fetch(`${base}/uploads`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ filename: 'sample.mp4', content_type: 'video/mp4', size_bytes: video.length }),
    });
    const upload = (await requested.json()) as {
      upload_url: string;
      headers: Record<string, string>;
      storage_uri: string;
    };
    if (requested.status !== 201) throw new Error(`upload refused: ${requested.status} ${JSON.stringify(upload)}`);
    const put = await fetch(upload.upload_url, { method: 'PUT', headers: upload.headers, body: new Uint8Array(video) });
    if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
    console.log(`uploaded to ${upload.storage_uri}`);

    const submitted = await fetch(`${base}/pipeline/run`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        video_url: upload.storage_uri,
        voice_text:
          'Welcome to AIPROD. This voice, the music under it and the final mix were all made on this machine.',
        music_style: 'cinematic',
        effects_preset: 'standard',
      }),
    });
    const accepted = (await submitted.json()) as { job_id: string };
    if (submitted.status !== 202) throw new Error(`submit failed: ${submitted.status} ${JSON.stringify(accepted)}`);
    console.log(`job ${accepted.job_id} accepted`);

    const started = Date.now();
    let status: { status: string; progress: number; error?: unknown };
    do {
      await sleep(500);
      status = (await (await fetch(`${base}/pipeline/${accepted.job_id}`, { headers })).json()) as typeof status;
      process.stdout.write(`\r  ${status.status} ${status.progress}%   `);
    } while (status.status === 'PENDING' || status.status === 'PROCESSING');
    console.log(`\n${status.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (status.status !== 'COMPLETED') throw new Error(`job failed: ${JSON.stringify(status.error)}`);

    const result = (await (await fetch(`${base}/pipeline/${accepted.job_id}/result`, { headers })).json()) as {
      url: string;
    };
    const output = join(dir, 'output.mp4');
    writeFileSync(output, Buffer.from(await (await fetch(result.url)).arrayBuffer()));
    const facts = await probe(output);
    const loudness = await measureLoudness(output);
    console.log(
      JSON.stringify({ result: { ...result, url: '(signed URL)' }, output, ffprobe: facts, loudness }, null, 2),
    );
  } finally {
    await k.destroy();
    await stack?.stop();
  }
}

main().catch((err) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
