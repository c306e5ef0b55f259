/** 16-bit little-endian PCM: what every engine hands back, and all the mix needs to read. */
export interface PcmFormat {
  sampleRate: number;
  channels: number;
}

const HEADER_BYTES = 44;
const BYTES_PER_SAMPLE = 2;
/** WAVE_FORMAT_PCM and WAVE_FORMAT_EXTENSIBLE: the two ways a WAV says "plain integer PCM". */
const PCM_FORMAT_TAGS = new Set([0x0001, 0xfffe]);

/** A canonical 44-byte-header WAV holding `pieces` one after the other. */
export function wavFile(format: PcmFormat, pieces: readonly Buffer[]): Buffer {
  const frameBytes = format.channels * BYTES_PER_SAMPLE;
  // A torn last frame would shift every sample after it in a later piece: drop it.
  const whole = pieces.map((piece) => piece.subarray(0, piece.length - (piece.length % frameBytes)));
  const dataBytes = whole.reduce((sum, piece) => sum + piece.length, 0);
  const header = Buffer.alloc(HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(HEADER_BYTES - 8 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(format.channels, 22);
  header.writeUInt32LE(format.sampleRate, 24);
  header.writeUInt32LE(format.sampleRate * frameBytes, 28);
  header.writeUInt16LE(frameBytes, 32);
  header.writeUInt16LE(BYTES_PER_SAMPLE * 8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([header, ...whole]);
}

/**
 * The format and samples of a 16-bit PCM WAV, walking its chunks rather than assuming a 44-byte
 * header (encoders add LIST and fact chunks). Throws an Error saying what is wrong otherwise.
 */
export function readWav(file: Buffer): { format: PcmFormat; pcm: Buffer } {
  if (file.length < 12 || file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format: PcmFormat | undefined;
  for (let at = 12; at + 8 <= file.length;) {
    const id = file.toString('ascii', at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > file.length) throw new Error('truncated fmt chunk');
      const tag = file.readUInt16LE(body);
      const bits = file.readUInt16LE(body + 14);
      if (!PCM_FORMAT_TAGS.has(tag) || bits !== 16) throw new Error(`not 16-bit PCM (format ${tag}, ${bits} bits)`);
      format = { channels: file.readUInt16LE(body + 2), sampleRate: file.readUInt32LE(body + 4) };
    } else if (id === 'data') {
      if (!format) throw new Error('data chunk before fmt chunk');
      // Streaming writers leave the size at 0 or 0xFFFFFFFF: then the samples run to the end.
      const end = size === 0 || size === 0xffffffff ? file.length : Math.min(body + size, file.length);
      return { format, pcm: file.subarray(body, end) };
    }
    at = body + size + (size % 2);
  }
  throw new Error('no data chunk');
}
