import { parseConfig, resetConfig } from '../../../shared/config';
import {
  inputLimitFor,
  maxInputBytes,
  memoryBytes,
  PROCESS_RESERVE_BYTES,
  SCRATCH_RESERVE_BYTES,
  SPOOL_MAX_BYTES,
} from '../../../shared/jobs/input-limit';
import { describeBytes } from '../../../shared/net';
import { manifest } from '../../../shared/platform/manifest';

const GiB = 1024 ** 3;

describe('the largest input a job takes', () => {
  const saved = process.env.AIPROD_MAX_INPUT_BYTES;
  afterEach(() => {
    if (saved === undefined) delete process.env.AIPROD_MAX_INPUT_BYTES;
    else process.env.AIPROD_MAX_INPUT_BYTES = saved;
    resetConfig();
  });

  it("is job-processor's memory less the reserve for the process and the scratch: 3 GiB of 4 GiB", () => {
    expect(manifest.find((f) => f.name === 'job-processor')?.memory).toBe('4Gi');
    delete process.env.AIPROD_MAX_INPUT_BYTES;
    resetConfig();
    expect(maxInputBytes()).toBe(3 * GiB);
    expect(inputLimitFor(4 * GiB)).toBe(4 * GiB - PROCESS_RESERVE_BYTES - SCRATCH_RESERVE_BYTES);
  });

  it('grows and shrinks with the memory, and is never negative', () => {
    expect(inputLimitFor(memoryBytes('8Gi'))).toBe(7 * GiB);
    expect(inputLimitFor(memoryBytes('2Gi'))).toBe(GiB);
    expect(inputLimitFor(memoryBytes('512Mi'))).toBe(0);
  });

  it('is lowered by AIPROD_MAX_INPUT_BYTES, never raised', () => {
    process.env.AIPROD_MAX_INPUT_BYTES = String(GiB);
    resetConfig();
    expect(maxInputBytes()).toBe(GiB);
    process.env.AIPROD_MAX_INPUT_BYTES = String(5 * GiB);
    resetConfig();
    expect(maxInputBytes()).toBe(3 * GiB);
  });

  it('keeps a spooled input within the scratch reserve', () => {
    expect(SPOOL_MAX_BYTES).toBeLessThan(SCRATCH_RESERVE_BYTES);
  });

  it('refuses a memory size it cannot read', () => {
    expect(() => memoryBytes('4G')).toThrow(RangeError);
  });

  it('leaves AIPROD_MAX_INPUT_BYTES unset by default, and refuses a non-positive one', () => {
    expect(parseConfig({}).AIPROD_MAX_INPUT_BYTES).toBeUndefined();
    expect(() => parseConfig({ AIPROD_MAX_INPUT_BYTES: '0' })).toThrow(/AIPROD_MAX_INPUT_BYTES/);
  });
});

describe('describeBytes', () => {
  it.each([
    [3 * GiB, '3 GiB (3221225472 bytes)'],
    [5_000_000_000, '4.7 GiB (5000000000 bytes)'],
    [256 * 1024 ** 2, '256 MiB (268435456 bytes)'],
    [1024, '1 KiB (1024 bytes)'],
    [1000, '1000 bytes'],
  ])('writes %d as %s', (bytes, text) => {
    expect(describeBytes(bytes)).toBe(text);
  });
});
