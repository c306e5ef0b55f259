/**
 * What submit can refuse of a job once its video's length is known (a still's `duration_seconds`,
 * an inspected upload's recorded duration): timed script lines that start at or after the end, and
 * a video over the time limit. The job makes the same checks when it runs (media/dub.ts,
 * media/voice/timed-layout.ts), for the inputs whose length submit could not know.
 */
import type { FieldError } from '../errors';

/** A spoken track as far as these checks read it (jobs/request.ts `SpokenTrack`). */
export interface TimedTrack {
  /** Where the track's errors point: `voice_script`, `voice_tracks.1`, `items[0].voice_script`. */
  field: string;
  script?: readonly { startSeconds: number }[];
}

/** The problem's own message when every error is a late line. */
export const LATE_LINES_MESSAGE = 'Script lines must start before the video ends.';

/** Seconds as partners read them: at most three decimals, no trailing zeros. */
export const shown = (seconds: number): string => String(Number(seconds.toFixed(3)));

/** Where a track's lines are in the request: `voice_script` itself, or a track's `script` (`voice_tracks.1.script`). */
const linesField = (trackField: string): string =>
  /(^|\.)voice_script$/.test(trackField) ? trackField : `${trackField}.script`;

/**
 * One entry per timed line that starts at or after `videoSeconds`, naming the line's
 * `start_seconds` (`voice_script.3.start_seconds`, `voice_tracks.1.script.0.start_seconds`).
 */
export function lateLines(tracks: readonly TimedTrack[], videoSeconds: number): FieldError[] {
  return tracks.flatMap((t) =>
    (t.script ?? []).flatMap((line, i) =>
      line.startSeconds >= videoSeconds
        ? [
            {
              field: `${linesField(t.field)}.${i}.start_seconds`,
              code: 'voice_too_long',
              message: `Line ${i + 1} starts at ${line.startSeconds} s, at or after the end of the ${shown(videoSeconds)} s video.`,
            },
          ]
        : [],
    ),
  );
}

/** The entry refusing a video longer than AIPROD_MAX_INPUT_SECONDS, or none. */
export function tooLong(field: string, videoSeconds: number, maxSeconds: number): FieldError[] {
  if (videoSeconds <= maxSeconds) return [];
  return [
    {
      field,
      code: 'input_too_long',
      message: `The video lasts ${shown(videoSeconds)} s; the longest a job takes is ${shown(maxSeconds)} s.`,
    },
  ];
}
