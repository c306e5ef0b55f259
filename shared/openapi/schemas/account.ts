/**
 * What the account endpoints answer: an upload URL (shared/uploads/create.ts), the usage report
 * (shared/usage/report.ts) and a login's API token (shared/auth/login.ts).
 */
import * as z from 'zod';
import { TIERS, type Tier } from '../../auth/api-keys';
import { instant, uuid } from './common';

export const uploadSchema = z
  .strictObject({
    upload_url: z.url().meta({ description: 'Signed URL to PUT the file to, with `headers`, before `expires_at`.' }),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()).meta({ description: 'Send exactly these headers with the PUT.' }),
    storage_uri: z.string().meta({ description: 'The `video_url` or `image_url` of a job once the file is up.' }),
    expires_at: instant(),
  })
  .meta({
    id: 'Upload',
    example: {
      upload_url: 'https://storage.googleapis.com/aiprod-uploads/…/interview.mp4?X-Goog-Algorithm=…',
      method: 'PUT',
      headers: {
        'Content-Type': 'video/mp4',
        'Content-Length': '52428800',
        'x-goog-content-length-range': '52428800,52428800',
        'x-goog-if-generation-match': '0',
      },
      storage_uri: 'gs://aiprod-uploads/<tenant id>/<upload id>/interview.mp4',
      expires_at: '2025-01-31T10:30:00.000Z',
    },
  });
export type UploadView = z.infer<typeof uploadSchema>;

const amounts = {
  calls: z.int().min(0),
  cost: z.number().min(0).meta({ description: 'In currency units: `cost_micros` / 1,000,000.' }),
  cost_micros: z.int().min(0).meta({ description: 'The same in millionths, exact, for reconciling.' }),
};
const day = z.iso.date();

export const usageReportSchema = z
  .strictObject({
    from: day,
    to: day,
    group_by: z.enum(['day', 'endpoint']),
    data: z.array(
      z.union([
        z.strictObject({ day, ...amounts, media_seconds: z.number().min(0) }),
        z.strictObject({ endpoint: z.string(), ...amounts }),
      ]),
    ),
    total: z.strictObject({ ...amounts, media_seconds: z.number().min(0) }),
  })
  .meta({
    id: 'UsageReport',
    example: {
      from: '2025-01-01',
      to: '2025-01-31',
      group_by: 'day',
      data: [{ day: '2025-01-06', calls: 42, cost: 8.416, cost_micros: 8416000, media_seconds: 610.5 }],
      total: { calls: 42, cost: 8.416, cost_micros: 8416000, media_seconds: 610.5 },
    },
  });
export type UsageReportView = z.infer<typeof usageReportSchema>;

export const loginTokenSchema = z
  .strictObject({
    token: z.string().meta({ description: "An API token of the user's tenant: send it as `Authorization: Bearer`." }),
    token_type: z.literal('Bearer'),
    expires_at: instant(),
    tenant: z.strictObject({
      id: uuid(),
      name: z.string(),
      tier: z.enum(TIERS as readonly Tier[] as [Tier, ...Tier[]]),
    }),
  })
  .meta({
    id: 'LoginToken',
    example: {
      token: 'sk_live_…',
      token_type: 'Bearer',
      expires_at: '2025-01-31T10:30:00.000Z',
      tenant: { id: '2b3c4d5e-6f70-4819-a2b3-c4d5e6f7a8b9', name: 'acme', tier: 'pro' },
    },
  });
export type LoginView = z.infer<typeof loginTokenSchema>;
