/** Captions from the spoken voice: cues timed by the speech, written as WebVTT and SubRip. */
export { captionCues, type Cue } from './cues';
export { toSrt, toWebVtt, writeCaptionFiles } from './formats';
