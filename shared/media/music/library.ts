import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { config } from '../../config';
import { circuitBreaker, isTransientError, type Breaker } from '../../resilience';
import { ObjectNotFoundError, type ObjectStore } from '../../storage/object-store';
import { SAMPLE_RATE } from '../audio-format';
import { MediaError } from '../errors';
import type { MusicBed } from './bed';
import { fitTrack } from './fit';
import type { MusicStyle } from './styles';

/** How long a style's manifest is trusted: a library edit shows within this, at one read per style. */
const MANIFEST_TTL_MS = 5 * 60 * 1000;

const manifestSchema = z.object({
  tracks: z.array(
    z.object({
      /** The track's object key in the library's bucket (not relative to the prefix). */
      key: z.string().min(1),
      title: z.string().optional(),
      license: z.string().optional(),
    }),
  ),
});

type Track = z.infer<typeof manifestSchema>['tracks'][number];

export interface MusicLibrary {
  /**
   * Prepares a bed for `durationSeconds` of video from one of the style's tracks, chosen by `seed`
   * (the job id: the same job gets the same track), in a new directory under `workDir`; returns
   * it, or null when the library has no tracks for the style and the music is to be
   * generated. A manifest that is there but unreadable, or names a track that is missing or no
   * music, is the library's fault, not the job's: that throws a plain Error naming the object.
   */
  prepareTrack(
    style: MusicStyle,
    seed: string,
    durationSeconds: number,
    workDir: string,
    signal?: AbortSignal,
  ): Promise<MusicBed | null>;
}

/** Parsed manifests by store, then by object: per process, whoever builds the library object. */
const manifestCache = new WeakMap<ObjectStore, Map<string, { tracks: Track[]; until: number }>>();

/**
 * The `music:library` circuit breaker, per store as the cache (a library object is made per job):
 * storage that keeps failing is left alone for a while, and the jobs meanwhile fail at once, to
 * be retried, instead of each waiting out the client's timeouts. Only the store's own trouble
 * counts (5xx, 429, timeouts, lost connections), never a missing object.
 */
const breakers = new WeakMap<ObjectStore, Breaker>();

function breakerOf(store: ObjectStore): Breaker {
  let breaker = breakers.get(store);
  if (!breaker) breakers.set(store, (breaker = circuitBreaker({ name: 'music:library', isFailure: isTransientError })));
  return breaker;
}

/** Downloads an object of the library's bucket, through its breaker. */
type Download = (key: string, toPath: string) => Promise<void>;

/**
 * Music tracks kept in storage, one manifest per style at `<prefix><style>/manifest.json`:
 * `{ "tracks": [{ "key": "music/calm/harbour.mp3", "title": "Harbour", "license": "CC-BY 4.0" }] }`.
 * Tracks can be in any format and length ffmpeg reads (see fit.ts for how they meet the video).
 */
export function musicLibrary(opts: { store: ObjectStore; bucket: string; prefix: string }): MusicLibrary {
  const { store, bucket } = opts;
  const breaker = breakerOf(store);
  const download: Download = (key, toPath) => breaker.run(() => store.download(bucket, key, toPath));

  async function tracksOf(style: MusicStyle, dir: string): Promise<Track[]> {
    const key = `${opts.prefix}${style}/manifest.json`;
    let cache = manifestCache.get(store);
    if (!cache) manifestCache.set(store, (cache = new Map()));
    const cached = cache.get(`${bucket}/${key}`);
    if (cached && cached.until > Date.now()) return cached.tracks;

    const tracks = await readManifest(download, bucket, key, join(dir, 'manifest.json'));
    // Invalid manifests throw above and are not kept: a fix shows on the next job.
    cache.set(`${bucket}/${key}`, { tracks, until: Date.now() + MANIFEST_TTL_MS });
    return tracks;
  }

  return {
    async prepareTrack(style, seed, durationSeconds, workDir, signal) {
      const dir = await mkdtemp(join(workDir, 'music-'));
      let bed: MusicBed | null = null;
      try {
        const tracks = await tracksOf(style, dir);
        if (tracks.length > 0) {
          bed = await prepareBed(
            download,
            bucket,
            choose(tracks, seed),
            Math.round(durationSeconds * SAMPLE_RATE),
            dir,
            signal,
          );
        }
        return bed;
      } finally {
        if (!bed) await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The library that AIPROD_MUSIC_BUCKET and AIPROD_MUSIC_PREFIX describe; null when no bucket is set. */
export function configuredMusicLibrary(store: ObjectStore): MusicLibrary | null {
  const { AIPROD_MUSIC_BUCKET: bucket, AIPROD_MUSIC_PREFIX: prefix } = config();
  return bucket ? musicLibrary({ store, bucket, prefix }) : null;
}

/** The style's tracks; none when it has no manifest. */
async function readManifest(download: Download, bucket: string, key: string, path: string): Promise<Track[]> {
  try {
    await download(key, path);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return [];
    throw err;
  }
  const text = await readFile(path, 'utf8');
  await rm(path, { force: true });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`music library manifest ${bucket}/${key} is not JSON: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`music library manifest ${bucket}/${key} is invalid: ${problems.join('; ')}`);
  }
  return parsed.data.tracks;
}

/** Downloads the track and fits it to the video, in `dir`: the download stays only when the bed plays it as it is. */
async function prepareBed(
  download: Download,
  bucket: string,
  track: Track,
  samples: number,
  dir: string,
  signal?: AbortSignal,
): Promise<MusicBed> {
  const source = join(dir, 'source');
  let bed: MusicBed | undefined;
  try {
    await download(track.key, source);
    bed = await fitTrack({ sourcePath: source, samples, dir, signal });
    return bed;
  } catch (err) {
    if (err instanceof MediaError && err.code === 'processing_timeout') throw err;
    const reason =
      err instanceof ObjectNotFoundError
        ? "its style's manifest lists it, but the bucket does not hold it"
        : (err as Error).message;
    throw new Error(`music library track ${bucket}/${track.key} cannot be used: ${reason}`, { cause: err });
  } finally {
    if (bed?.head !== source) await rm(source, { force: true });
  }
}

/** sha256(seed) mod the number of tracks: spread evenly over the tracks, stable for a job id. */
function choose(tracks: readonly Track[], seed: string): Track {
  const digest = BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`);
  const track = tracks[Number(digest % BigInt(tracks.length))];
  if (!track) throw new RangeError('choose from an empty list');
  return track;
}
