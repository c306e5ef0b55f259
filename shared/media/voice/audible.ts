import type { PcmFormat } from './wav';

/** Where speech is heard in one synthesized unit, in seconds from the unit's first sample. */
export interface AudibleSpan {
  onsetSeconds: number;
  offsetSeconds: number;
  /** Silences inside the speech (between onset and offset), in order: where a caption may be cut. */
  pauses: { startSeconds: number; endSeconds: number }[];
}

/** The envelope's resolution: far finer than the 100 ms captions are held to. */
const WINDOW_SECONDS = 0.01;
/**
 * A window this far below the unit's loudest is silence. Relative rather than absolute, as engines
 * deliver speech at different levels; 35 dB down leaves a cloud voice's breaths and room tone out.
 */
const SILENCE_BELOW_PEAK_DB = 35;
/** A unit whose loudest window stays under this is silence, whatever the engine claims. */
const SILENT_UNIT_DBFS = -60;
/**
 * The shortest silence counted as a pause: voices fall silent for 50 to 70 ms inside words (the
 * closure before p, t, k); they pause longer at a comma.
 */
const MIN_PAUSE_SECONDS = 0.08;

/**
 * The audible part of a 16-bit PCM unit from its RMS envelope: the first and last windows louder
 * than the silence threshold, and the pauses between. Null when nothing in it is audible.
 */
export function audibleSpan(pcm: Buffer, format: PcmFormat): AudibleSpan | null {
  const windowFrames = Math.max(1, Math.round(format.sampleRate * WINDOW_SECONDS));
  const levels = envelope(pcm, format.channels, windowFrames);
  const loudest = levels.reduce((max, level) => Math.max(max, level), -Infinity);
  if (loudest < SILENT_UNIT_DBFS) return null;
  const threshold = loudest - SILENCE_BELOW_PEAK_DB;
  const audible = levels.map((level) => level >= threshold);
  const first = audible.indexOf(true);
  const last = audible.lastIndexOf(true);
  const seconds = (window: number): number => (window * windowFrames) / format.sampleRate;

  const pauses: AudibleSpan['pauses'] = [];
  const minWindows = Math.ceil(MIN_PAUSE_SECONDS / WINDOW_SECONDS);
  for (let w = first + 1; w < last; w++) {
    if (audible[w]) continue;
    const start = w;
    while (!audible[w]) w++;
    if (w - start >= minWindows) pauses.push({ startSeconds: seconds(start), endSeconds: seconds(w) });
  }
  const totalSeconds = pcm.length / 2 / format.channels / format.sampleRate;
  return {
    onsetSeconds: seconds(first),
    offsetSeconds: Math.min(totalSeconds, seconds(last + 1)),
    pauses,
  };
}

/** RMS level of each window in dBFS, all channels together; -Infinity for digital silence. */
function envelope(pcm: Buffer, channels: number, windowFrames: number): number[] {
  const samples = Math.floor(pcm.length / 2);
  const perWindow = windowFrames * channels;
  const levels: number[] = [];
  for (let from = 0; from < samples; from += perWindow) {
    const to = Math.min(samples, from + perWindow);
    let power = 0;
    for (let i = from; i < to; i++) {
      const sample = pcm.readInt16LE(i * 2) / 32768;
      power += sample * sample;
    }
    levels.push(10 * Math.log10(power / (to - from)));
  }
  return levels;
}
