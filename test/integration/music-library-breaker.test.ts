/**
 * The music library's circuit breaker, with the Cloud Storage adapter over a double of the
 * Storage client that can be down (503, after its own retries) or serve files from a directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { resetConfig } from '../../shared/config';
import { ffmpegPath } from '../../shared/media';
import { musicLibrary } from '../../shared/media/music/library';
import { MUSIC_STYLES } from '../../shared/media/music/styles';
import { gcsObjectStore } from '../../shared/storage';
import { breakerState, untilBreakerState } from '../support/breaker-metrics';

const BREAKER = 'music:library';
const BUCKET = 'aiprod-music';
const PREFIX = 'library/';
const BREAKER_ENV = { AIPROD_BREAKER_MIN_CALLS: '4', AIPROD_BREAKER_RESET_MS: '1000' };
const saved = Object.fromEntries(Object.keys(BREAKER_ENV).map((name) => [name, process.env[name]]));

let dir: string;
let objects: string;

beforeAll(async () => {
  Object.assign(process.env, BREAKER_ENV);
  resetConfig();
  dir = await mkdtemp(join(tmpdir(), 'music-breaker-'));
  objects = join(dir, 'objects');
  await mkdir(join(objects, 'tracks'), { recursive: true });
  await mkdir(join(objects, PREFIX, 'calm'), { recursive: true });
  execFileSync(ffmpegPath(), [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=f=330:d=3:sample_rate=48000',
    join(objects, 'tracks', 'calm.wav'),
  ]);
  await writeFile(
    join(objects, PREFIX, 'calm', 'manifest.json'),
    JSON.stringify({ tracks: [{ key: 'tracks/calm.wav' }] }),
  );
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfig();
  await rm(dir, { recursive: true, force: true });
});

/** Just the Storage calls the adapter makes for a download, counted; `down` answers 503 as GCS does in an outage. */
function storageDouble(root: string) {
  const storage = { down: false, downloads: 0 };
  const client = {
    bucket: (bucket: string) => ({
      file: (key: string) => ({
        download: async ({ destination }: { destination: string }) => {
          storage.downloads += 1;
          if (storage.down) throw Object.assign(new Error('We encountered an internal error.'), { code: 503 });
          const source = join(root, key);
          if (bucket !== BUCKET || !existsSync(source)) {
            throw Object.assign(new Error(`No such object: ${bucket}/${key}`), { code: 404 });
          }
          await mkdir(dirname(destination), { recursive: true });
          await copyFile(source, destination);
          return [];
        },
      }),
    }),
  };
  return { storage, store: gcsObjectStore({ storage: client as unknown as Storage }) };
}

const rejection = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );

test('a failing store opens it, refused calls reach no storage, and a good trial closes it', async () => {
  const { storage, store } = storageDouble(objects);
  const library = musicLibrary({ store, bucket: BUCKET, prefix: PREFIX });
  const work = await mkdtemp(join(dir, 'work-'));
  storage.down = true;

  for (let i = 0; i < 4; i++) {
    const err = await rejection(library.prepareTrack('calm', `job-${i}`, 4, work));
    expect(err.message).toMatch(/internal error/);
  }
  expect(storage.downloads).toBe(4);
  expect(await breakerState(BREAKER)).toBe(2);

  // Open: the job's attempt fails at once (a plain Error: the job is retried), no request made.
  const refused = await rejection(library.prepareTrack('calm', 'job-5', 4, work));
  expect(refused.message).toMatch(/circuit breaker music:library is open/);
  expect(storage.downloads).toBe(4);

  storage.down = false;
  await untilBreakerState(BREAKER, 1);
  const bed = await library.prepareTrack('calm', 'job-6', 4, work);
  expect(bed).not.toBeNull();
  // Looped: the 3 s track's opening and the part that repeats, both written.
  expect((await stat(bed!.head)).size).toBeGreaterThan(1000);
  expect((await stat(bed!.loop!)).size).toBeGreaterThan(1000);
  // The trial (the manifest) closed it, so the track's download went through too.
  expect(storage.downloads).toBe(6);
  expect(await breakerState(BREAKER)).toBe(0);
});

test('missing objects never open it: the store answered, and the music is generated', async () => {
  const { storage, store } = storageDouble(join(dir, 'empty'));
  const library = musicLibrary({ store, bucket: BUCKET, prefix: PREFIX });
  const work = await mkdtemp(join(dir, 'work-'));
  // Every style once: a style found empty is remembered, and asked again only later.
  for (const style of MUSIC_STYLES) await expect(library.prepareTrack(style, 'job', 4, work)).resolves.toBeNull();
  expect(storage.downloads).toBe(MUSIC_STYLES.length);
  expect(MUSIC_STYLES.length).toBeGreaterThan(4);
  expect(await breakerState(BREAKER)).toBe(0);
});
