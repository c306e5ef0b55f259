/** The rate all audio work happens at, and the delivered AAC's: the video world's standard. */
export const SAMPLE_RATE = 48000;
/**
 * The delivered AAC: ffmpeg's own encoder at 192 kbit/s with its `fast` coder (a constant
 * quantizer per frame rather than the default `twoloop`'s search for one). The encoder is the
 * slowest step of a dub; on the engine's mixes this coder, fed ENCODER_INPUT, takes half the
 * default's time, at the same size and a smaller difference from the mix.
 */
export const AAC_ENCODER = ['-c:a', 'aac', '-aac_coder', 'fast', '-b:a', '192k'] as const;
/**
 * The last filter before a lossy encoder: samples rounded to 16 bits, far finer than what 192
 * kbit/s keeps. Fed float samples of a synthesized voice and music, the AAC encoder takes twice
 * as long for the same stream.
 */
export const ENCODER_INPUT = 'aformat=sample_fmts=s16';
