/** The rate all audio work happens at, and the delivered AAC's: the video world's standard. */
export const SAMPLE_RATE = 48000;
