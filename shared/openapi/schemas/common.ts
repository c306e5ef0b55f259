/**
 * Building blocks of the response schemas: what the view builders write for an id, an instant,
 * a partner's metadata and a keyset page. Responses are strict objects: the contract test parses
 * real answers with them, so a field an endpoint sends without its schema saying so fails it.
 */
import * as z from 'zod';

/** An instant as the views write it: `Date.toISOString()`, UTC. */
export const instant = () => z.iso.datetime();

export const uuid = () => z.uuid();

/** The partner's own values, as stored with a job or a batch and echoed back (`{}` when none were given). */
export const metadataView = z
  .record(z.string(), z.string())
  .meta({ id: 'Metadata', description: "The partner's own values, echoed back; `{}` when none were given." });

/** `{data, next_cursor}`: one keyset page, newest first; `next_cursor` is null on the last page. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    data: z.array(item),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last one.' }),
  });

/** True when each type is assignable to the other: a view type and its schema's, kept in step. */
export type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type Assert<T extends true> = T;
