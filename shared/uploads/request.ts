/**
 * What `POST /uploads` accepts, validated with zod at the boundary: a file a recipe can take as
 * its `video_url` (the videos) or `image_url` (the images), no larger than a job may fetch. The
 * file name becomes the last segment of the object's key, so it is reduced to characters that
 * need no escaping in a key, a gs:// URI or a URL.
 */
import * as z from 'zod';
import { lazySchema } from '../validation/lazy-schema';
import { ValidationError } from '../errors';
import { fieldErrors } from '../validation/zod-errors';

/** Each accepted type with the extensions its files may have, as shared/jobs/request.ts accepts them. */
export const UPLOAD_MEDIA_TYPES: Readonly<Record<string, readonly string[]>> = {
  'video/mp4': ['mp4', 'm4v'],
  'video/x-m4v': ['m4v'],
  'video/quicktime': ['mov'],
  'video/webm': ['webm'],
  'video/matroska': ['mkv'],
  'video/x-matroska': ['mkv'],
  'image/png': ['png'],
  'image/jpeg': ['jpg', 'jpeg'],
  'image/webp': ['webp'],
};

const EXTENSIONS = [...new Set(Object.values(UPLOAD_MEDIA_TYPES).flat())];

export const FILENAME_MAX_LENGTH = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const UNSAFE_RUN = /[^A-Za-z0-9._-]+/g;

/**
 * The name as it is stored: every run of other characters than letters, digits, `.`, `_` and
 * `-` becomes one `_`, and leading dots go (no hidden file, no `.` or `..`). Never longer than
 * the name given.
 */
export function sanitizeFilename(name: string): string {
  return name.replace(UNSAFE_RUN, '_').replace(/^\.+/, '');
}

/** The lowercased extension, or '' when the name has none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

function custom(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } });
}

const filename = lazySchema(() =>
  z
    .string({ error: 'filename must be a string.' })
    .trim()
    .min(1, 'filename must not be empty.')
    .max(FILENAME_MAX_LENGTH, `filename must be at most ${FILENAME_MAX_LENGTH} characters.`)
    .superRefine((value, ctx) => {
      if (/[/\\]/.test(value)) return custom(ctx, 'invalid_filename', 'filename must be a bare name, without / or \\.');
      if (CONTROL.test(value)) return custom(ctx, 'invalid_characters', 'filename contains control characters.');
      if (value !== '' && !EXTENSIONS.includes(extensionOf(sanitizeFilename(value)))) {
        custom(ctx, 'unsupported_extension', `filename must end in .${EXTENSIONS.join(', .')}.`);
      }
    })
    .transform(sanitizeFilename),
);

const contentType = lazySchema(() =>
  z
    .string({ error: 'content_type must be a string.' })
    .trim()
    .toLowerCase()
    .superRefine((value, ctx) => {
      if (!Object.hasOwn(UPLOAD_MEDIA_TYPES, value)) {
        custom(ctx, 'unsupported_value', `content_type must be one of ${Object.keys(UPLOAD_MEDIA_TYPES).join(', ')}.`);
      }
    }),
);

const sizeBytes = (maxBytes: number) =>
  z.number({ error: 'size_bytes must be a number.' }).superRefine((value, ctx) => {
    if (!Number.isSafeInteger(value)) return custom(ctx, 'invalid_type', 'size_bytes must be a whole number of bytes.');
    if (value < 1) return custom(ctx, 'out_of_range', 'size_bytes must be at least 1.');
    if (value > maxBytes)
      custom(ctx, 'too_large', `size_bytes must be at most ${maxBytes}, the largest input a job takes.`);
  });

export const uploadRequestSchema = (maxBytes: number) =>
  z
    .object({ filename: filename(), content_type: contentType(), size_bytes: sizeBytes(maxBytes) })
    .strict()
    .refine((r) => UPLOAD_MEDIA_TYPES[r.content_type]!.includes(extensionOf(r.filename)), {
      path: ['filename'],
      message: 'filename must have an extension of its content_type.',
      params: { code: 'extension_mismatch' },
      // Only a good name and a good type can disagree; each field's own error (or the body's, when it
      // is no object at all) says enough otherwise.
      when: (payload) =>
        !payload.issues.some(
          (i) =>
            (i.code === 'invalid_type' && !i.path?.length) ||
            ['filename', 'content_type'].includes(String(i.path?.[0])),
        ),
    });

export type UploadRequest = z.infer<ReturnType<typeof uploadRequestSchema>>;

/** POST /uploads's body, or a ValidationError with one entry per bad field. */
export function parseUploadRequest(body: unknown, maxBytes: number): UploadRequest {
  const parsed = uploadRequestSchema(maxBytes).safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, body));
  return parsed.data;
}
