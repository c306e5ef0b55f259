import { writeFile } from 'node:fs/promises';
import type { TextToSpeechClient } from '@google-cloud/text-to-speech';
import { MediaError } from '../errors';
import { chooseVoice, type Language, type VoiceCatalogue, type VoiceEngine } from './engine';
import { providerBreaker, retryPolicy, TransientVoiceError, withRetries, type RetryPolicy } from './retry';
import { splitText } from './split';
import { readWav, wavFile, type PcmFormat } from './wav';

const PROVIDER = 'Google Text-to-Speech';

/**
 * A few WaveNet voices per language, a female and a male one, the first the default: the
 * established family with voices in each of them. A name the API stops knowing fails every job
 * that asks for it with voice_rejected, so check the voice list before changing one.
 */
const VOICES: Readonly<Record<Language, { languageCode: string; names: readonly [string, ...string[]] }>> = {
  en: { languageCode: 'en-US', names: ['en-US-Wavenet-F', 'en-US-Wavenet-D'] },
  fr: { languageCode: 'fr-FR', names: ['fr-FR-Wavenet-A', 'fr-FR-Wavenet-B'] },
  es: { languageCode: 'es-ES', names: ['es-ES-Wavenet-C', 'es-ES-Wavenet-B'] },
  de: { languageCode: 'de-DE', names: ['de-DE-Wavenet-A', 'de-DE-Wavenet-B'] },
  it: { languageCode: 'it-IT', names: ['it-IT-Wavenet-A', 'it-IT-Wavenet-C'] },
  pt: { languageCode: 'pt-BR', names: ['pt-BR-Wavenet-A', 'pt-BR-Wavenet-B'] },
  ja: { languageCode: 'ja-JP', names: ['ja-JP-Wavenet-A', 'ja-JP-Wavenet-C'] },
  zh: { languageCode: 'cmn-CN', names: ['cmn-CN-Wavenet-A', 'cmn-CN-Wavenet-B'] },
};

export const GOOGLE_VOICE_LANGUAGES: readonly Language[] = Object.keys(VOICES) as Language[];
export const GOOGLE_VOICES: VoiceCatalogue = Object.fromEntries(
  Object.entries(VOICES).map(([language, { names }]) => [language, names]),
);
/** `audioConfig.speakingRate`'s range. */
const RATES = { min: 0.25, max: 4 };

/** The API refuses `input.text` over 5000 bytes of UTF-8. */
const MAX_INPUT_BYTES = 5000;
const SAMPLE_RATE = 48_000;

/** gRPC codes worth another attempt: RESOURCE_EXHAUSTED, UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL. */
const TRANSIENT_CODES = new Set([8, 14, 4, 13]);
const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

export interface GoogleVoiceOptions extends Partial<RetryPolicy> {
  /** A ready client; otherwise one is made on first use with Application Default Credentials. */
  client?: TextToSpeechClient;
  /**
   * `host[:port]` instead of the public endpoint (a regional one, say). A loopback host is taken
   * for a test double: plain HTTP/1.1 REST and no credentials.
   */
  apiEndpoint?: string;
}

/**
 * Google Cloud Text-to-Speech: long texts are spoken in several requests and joined. The engine
 * owns the process's `voice:google` circuit breaker, so make it once (voiceEngine() does).
 */
export function googleVoiceEngine(opts: GoogleVoiceOptions = {}): VoiceEngine {
  const policy = retryPolicy(opts);
  const breaker = providerBreaker('voice:google');
  let client = opts.client;

  return {
    name: 'google-tts',
    languages: GOOGLE_VOICE_LANGUAGES,
    voices: GOOGLE_VOICES,
    rates: RATES,
    async synthesize(text, language, outPath, { voice: asked, rate, signal } = {}) {
      const name = chooseVoice('google', GOOGLE_VOICES, language, asked);
      const voice = { languageCode: VOICES[language as Language].languageCode, name };
      const tts = (client ??= createClient(opts.apiEndpoint));
      const pieces: Buffer[] = [];
      let format: PcmFormat | undefined;
      // One after the other: a long script is a handful of requests, and a provider that rations
      // its quota per minute is better met in single file.
      for (const piece of splitText(text, language, MAX_INPUT_BYTES, (s) => Buffer.byteLength(s, 'utf8'))) {
        const wav = await withRetries(PROVIDER, policy, breaker, signal, (attemptSignal) =>
          speak(tts, piece, { voice, rate }, policy.timeoutMs, attemptSignal),
        );
        const audio = decode(wav);
        if (format && (format.sampleRate !== audio.format.sampleRate || format.channels !== audio.format.channels)) {
          throw new MediaError('voice_synthesis_failed', `${PROVIDER} answered parts of the text in different formats`);
        }
        format = audio.format;
        pieces.push(audio.pcm);
      }
      if (!format) throw new MediaError('voice_synthesis_failed', 'the voice-over text has nothing to say');
      await writeFile(outPath, wavFile(format, pieces));
    },
  };
}

async function speak(
  tts: TextToSpeechClient,
  text: string,
  { voice, rate }: { voice: { languageCode: string; name: string }; rate: number | undefined },
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Uint8Array | string> {
  // Retries are ours (backoff with jitter, the caller's signal, one error vocabulary for every
  // engine), so the library's own are off. Its timeout stays: under gRPC it cancels the call.
  const call = tts
    .synthesizeSpeech(
      {
        // Plain text, never SSML: a partner's script is read, not interpreted as markup.
        input: { text },
        voice,
        audioConfig: {
          audioEncoding: 'LINEAR16',
          sampleRateHertz: SAMPLE_RATE,
          ...(rate === undefined || rate === 1 ? {} : { speakingRate: rate }),
        },
      },
      { timeout: timeoutMs, retry: null },
    )
    .catch((err: unknown) => {
      throw classify(err);
    });
  const [response] = await untilAborted(call, signal);
  if (!response.audioContent?.length) throw new MediaError('voice_synthesis_failed', `${PROVIDER} returned no audio`);
  return response.audioContent;
}

/** Maps a library error to a retry (overload, outage, transport) or a refusal retrying cannot fix. */
function classify(err: unknown): Error {
  const { code, details, message } = (err ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  const words = typeof details === 'string' && details ? details : String(message ?? err);
  // No status at all is a transport failure (connection refused or reset, a proxy's HTML page).
  if (typeof code !== 'number' || TRANSIENT_CODES.has(code)) return new TransientVoiceError(words);
  return new MediaError(
    'voice_rejected',
    `${PROVIDER} rejected the request (${CODE_NAMES[code] ?? code}): ${words}`,
    words,
  );
}

/** LINEAR16 comes back as a WAV file, header included. */
function decode(audio: Uint8Array | string): { format: PcmFormat; pcm: Buffer } {
  const bytes = typeof audio === 'string' ? Buffer.from(audio, 'base64') : Buffer.from(audio);
  try {
    return readWav(bytes);
  } catch (err) {
    throw new MediaError('voice_synthesis_failed', `${PROVIDER} returned audio that is not a 16-bit WAV`, String(err));
  }
}

/**
 * The REST transport neither times out nor cancels a call in flight, so an abort (timeout or the
 * caller's) stops the wait instead. Under gRPC, production's transport, the deadline ends the call.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function createClient(apiEndpoint: string | undefined): TextToSpeechClient {
  // Loaded on first use: the API process imports the voice engines for their language lists and
  // should not load gRPC at cold start for it.
  const { TextToSpeechClient } =
    require('@google-cloud/text-to-speech') as typeof import('@google-cloud/text-to-speech');
  if (!apiEndpoint) return new TextToSpeechClient();
  const { host, port } = splitEndpoint(apiEndpoint);
  if (!isLoopback(host)) return new TextToSpeechClient({ apiEndpoint: host, port });
  return new TextToSpeechClient({
    apiEndpoint: host,
    port,
    fallback: true,
    protocol: 'http',
    // The REST transport asks its auth client for nothing but fetch() (and headers, which a
    // double does not check): plain fetch stands in for credentials that a double does not need.
    authClient: { getRequestHeaders: async () => new Headers(), fetch } as unknown as NonNullable<
      ConstructorParameters<typeof TextToSpeechClient>[0]
    >['authClient'],
  });
}

/** `host[:port]`; an IPv6 host keeps its brackets, as the library puts it in a URL as it is. */
function splitEndpoint(endpoint: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(endpoint);
  return match?.[1] && match[2] ? { host: match[1], port: Number(match[2]) } : { host: endpoint, port: 443 };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
