/**
 * The `POST /pipeline/run` body (roadmap API-3.7 rules), validated with zod at the boundary.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EFFECTS_PRESETS, LANGUAGES, MUSIC_STYLES } from '../media';

const VIDEO_EXTENSION = /\.(mp4|mov|webm|mkv|m4v)$/i;
// Voice text is read aloud, never rendered, but partners echo it into dashboards: refuse markup.
const MARKUP = /<\s*\/?\s*[a-z!?]|javascript:|\bon[a-z]+\s*=/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function custom(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } });
}

const videoUrl = z
  .string()
  .trim()
  .min(1)
  .max(2048)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return custom(ctx, 'invalid_url', 'video_url must be an absolute http(s) URL or a gs:// object of yours.');
    }
    if (!['http:', 'https:', 'gs:'].includes(url.protocol)) {
      return custom(ctx, 'invalid_url', 'video_url must use http, https or gs.');
    }
    if (url.username || url.password) return custom(ctx, 'invalid_url', 'video_url must not carry credentials.');
    if (!VIDEO_EXTENSION.test(decodeURIComponent(url.pathname))) {
      custom(ctx, 'unsupported_extension', 'video_url must name a .mp4, .mov, .m4v, .webm or .mkv file.');
    }
  });

export const dubRequestSchema = z
  .object({
    video_url: videoUrl,
    voice_text: z
      .string()
      .trim()
      .min(5, 'voice_text must be at least 5 characters.')
      .max(10_000, 'voice_text must be at most 10,000 characters.')
      .superRefine((v, ctx) => {
        if (MARKUP.test(v)) custom(ctx, 'markup_not_allowed', 'voice_text must be plain text, without markup or script.');
        if (CONTROL.test(v)) custom(ctx, 'invalid_characters', 'voice_text contains control characters.');
      }),
    voice_language: z.enum(LANGUAGES).default('en'),
    music_style: z.enum(MUSIC_STYLES).default('orchestral'),
    effects_preset: z.enum(Object.keys(EFFECTS_PRESETS) as [keyof typeof EFFECTS_PRESETS]).default('standard'),
  })
  .strict();

export type DubRequestBody = z.infer<typeof dubRequestSchema>;

/** The same request, whatever its key order or spacing, has the same fingerprint. */
export function fingerprint(body: DubRequestBody): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

/** Seconds a partner should expect: the media work is roughly linear in the voice's length. */
export function estimateDurationSeconds(body: DubRequestBody): number {
  return 15 + Math.ceil(body.voice_text.length / 15);
}
