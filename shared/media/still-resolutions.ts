/** The frames a still can be rendered into. */
export const STILL_RESOLUTIONS = {
  '1080p': { width: 1920, height: 1080 },
  '720p': { width: 1280, height: 720 },
  square: { width: 1080, height: 1080 },
  vertical: { width: 1080, height: 1920 },
} as const;
export type StillResolution = keyof typeof STILL_RESOLUTIONS;
