/** zod issues as RFC 9457 field errors with stable codes partners can branch on. */
import type * as z from 'zod';
import type { FieldError } from '../errors';

const CODES: Record<string, string> = {
  invalid_type: 'invalid_type',
  too_small: 'too_short',
  too_big: 'too_long',
  invalid_value: 'unsupported_value',
  invalid_format: 'invalid_format',
};

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const key of path)
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** `input` is what was validated: zod does not keep it, and a missing field differs from a mistyped one. */
export function fieldErrors(error: z.ZodError, input: unknown): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const field = issue.path.join('.') || '(body)';
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({
        field: [...issue.path, k].join('.'),
        code: 'unknown_field',
        message: `Unknown field "${k}".`,
      }));
    }
    // A missing enum field fails as a wrong value: it is as missing as a missing string.
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && valueAt(input, issue.path) === undefined) {
      return [{ field, code: 'required', message: `${field} is required.` }];
    }
    const custom = issue.code === 'custom' ? (issue.params as { code?: string } | undefined)?.code : undefined;
    return [{ field, code: custom ?? CODES[issue.code] ?? issue.code, message: issue.message }];
  });
}
