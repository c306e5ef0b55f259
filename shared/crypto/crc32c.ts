/**
 * CRC32C (Castagnoli), the checksum Secret Manager and Cloud KMS put beside payloads so a client
 * can tell a payload damaged on the way from the one the service holds.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A checksum as Google's clients hand it back: a number, a decimal string or a protobuf Long. */
export function checksumValue(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  const wrapped = typeof value === 'object' && 'value' in value ? (value as { value: unknown }).value : value;
  if (wrapped === null || wrapped === undefined) return undefined;
  const n = Number(String(wrapped));
  return Number.isSafeInteger(n) ? n : undefined;
}
