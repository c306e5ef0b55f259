/**
 * The one error type the media engine throws for anything a partner's input or the media tools can
 * cause. `code` is stable and travels to the job's failure record; `detail` carries the tool's own
 * words (ffmpeg's last stderr lines) for operators, never for partners.
 */
export type MediaErrorCode =
  | 'not_a_video'
  | 'corrupt_media'
  | 'voice_too_long'
  | 'voice_cue_overlap'
  | 'ffmpeg_failed'
  | 'unsupported_media'
  | 'input_too_long'
  | 'processing_timeout'
  | 'voice_synthesis_failed'
  | 'voice_rejected'
  | 'voice_provider_unavailable'
  | 'no_audio'
  | 'silent_audio'
  | 'not_an_image'
  | 'absurd_dimensions';

export class MediaError extends Error {
  constructor(
    public readonly code: MediaErrorCode,
    message: string,
    public readonly detail?: string,
  ) {
    super(message);
    this.name = 'MediaError';
  }
}
