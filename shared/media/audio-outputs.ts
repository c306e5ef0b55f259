import { AAC_ENCODER } from './audio-format';

export const AUDIO_FORMATS = ['m4a', 'mp3', 'wav'] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

/** Container, encoder and MIME type per format; lossy formats keep a peak margin for the encoder. */
export const AUDIO_OUTPUTS: Record<AudioFormat, { args: string[]; contentType: string; lossy: boolean }> = {
  m4a: {
    args: [...AAC_ENCODER, '-movflags', '+faststart', '-f', 'mp4'],
    contentType: 'audio/mp4',
    lossy: true,
  },
  mp3: { args: ['-c:a', 'libmp3lame', '-b:a', '192k', '-f', 'mp3'], contentType: 'audio/mpeg', lossy: true },
  wav: { args: ['-c:a', 'pcm_s16le', '-f', 'wav'], contentType: 'audio/wav', lossy: false },
};
