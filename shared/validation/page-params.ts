/**
 * The `limit` and `cursor` query parameters of every keyset-paginated list, as zod fields with
 * the codes partners branch on: `out_of_range`, `invalid_cursor`, and `invalid_type` for a
 * parameter given twice (the query parser makes that an array).
 */
import * as z from 'zod';
import { decodeCursor } from '../db/keyset';

/** Rows per page when `limit` is not given, and the most one page holds. */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

function custom(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } });
}

/** Spread into a list's query schema: `z.object({ ...pageParams(), state: ... }).strict()`. */
export const pageParams = () => ({
  limit: z
    .string({ error: 'limit must be given once.' })
    .superRefine((v, ctx) => {
      const n = Number(v);
      if (!/^\d{1,3}$/.test(v) || n < 1 || n > PAGE_SIZE.max)
        custom(ctx, 'out_of_range', `limit must be an integer from 1 to ${PAGE_SIZE.max}.`);
    })
    .transform(Number)
    .default(PAGE_SIZE.default),
  cursor: z
    .string({ error: 'cursor must be given once.' })
    .transform((v, ctx) => {
      const cursor = decodeCursor(v);
      if (!cursor) {
        custom(ctx, 'invalid_cursor', 'cursor must be a next_cursor this API returned.');
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
});
