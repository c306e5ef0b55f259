import { writeFile } from 'node:fs/promises';
import { MediaError } from '../errors';
import { chooseVoice, LANGUAGES, type VoiceCatalogue, type VoiceEngine } from './engine';
import {
  providerBreaker,
  retryAfterMs,
  retryPolicy,
  TransientVoiceError,
  withRetries,
  type RetryPolicy,
} from './retry';
import { splitText } from './split';
import { wavFile } from './wav';
import { describeError } from '../../describe-error';

const PROVIDER = 'ElevenLabs';

/** Raw 16-bit little-endian mono PCM: nothing to decode, the WAV header is ours to add. */
const OUTPUT_FORMAT = 'pcm_44100';
const PCM = { sampleRate: 44_100, channels: 1 };

/** Within every current model's cap on one request: Eleven v3's, the smallest, is 5000. */
const MAX_CHARACTERS = 5000;

/** Models that speak English only; every other model speaks all the app's languages. */
const ENGLISH_ONLY_MODELS = new Set(['eleven_monolingual_v1', 'eleven_turbo_v2', 'eleven_flash_v2']);
/** Models that take `language_code`; the others infer the language and refuse the field. */
const LANGUAGE_CODE_MODELS = new Set(['eleven_turbo_v2_5', 'eleven_flash_v2_5']);

/** `voice_settings.speed`'s range. */
const RATES = { min: 0.7, max: 1.2 };

/** The app languages a model speaks. */
export function elevenLabsLanguages(modelId: string): readonly string[] {
  return ENGLISH_ONLY_MODELS.has(modelId) ? ['en'] : LANGUAGES;
}

/**
 * The account's voices on offer, the default first, for every language the model speaks: an
 * ElevenLabs voice speaks whatever language its model does.
 */
export function elevenLabsVoices(modelId: string, voiceId: string, voiceIds: readonly string[] = []): VoiceCatalogue {
  const voices = [...new Set([voiceId, ...voiceIds])];
  return Object.fromEntries(elevenLabsLanguages(modelId).map((language) => [language, voices]));
}

export interface ElevenLabsVoiceOptions extends Partial<RetryPolicy> {
  apiKey: string;
  /** The default voice. */
  voiceId: string;
  /** Further voices of the account that a job may ask for. */
  voiceIds?: readonly string[];
  modelId: string;
  /** https://api.elevenlabs.io, or a test double. */
  baseUrl: string;
  fetch?: typeof fetch;
}

/**
 * ElevenLabs over its HTTP API: long texts are spoken in several requests and joined. The engine
 * owns the process's `voice:elevenlabs` circuit breaker, so make it once (voiceEngine() does).
 */
export function elevenLabsVoiceEngine(opts: ElevenLabsVoiceOptions): VoiceEngine {
  const policy = retryPolicy(opts);
  const breaker = providerBreaker('voice:elevenlabs');
  const post = opts.fetch ?? fetch;
  const base = opts.baseUrl.replace(/\/+$/, '');
  const languages = elevenLabsLanguages(opts.modelId);
  const voices = elevenLabsVoices(opts.modelId, opts.voiceId, opts.voiceIds);
  // Whatever a provider or a proxy echoes back, the key never reaches an error message.
  const redact = (words: string): string => (opts.apiKey ? words.split(opts.apiKey).join('[redacted]') : words);

  const speak = async (
    text: string,
    { language, voice, rate }: { language: string; voice: string; rate: number | undefined },
    signal: AbortSignal,
  ): Promise<Buffer> => {
    const url = `${base}/v1/text-to-speech/${encodeURIComponent(voice)}?output_format=${OUTPUT_FORMAT}`;
    const body = {
      text,
      model_id: opts.modelId,
      ...(LANGUAGE_CODE_MODELS.has(opts.modelId) ? { language_code: language } : {}),
      // Only the speed is set; none of the voice's other settings is sent.
      ...(rate === undefined || rate === 1 ? {} : { voice_settings: { speed: rate } }),
    };
    let response: Response;
    try {
      response = await post(url, {
        method: 'POST',
        headers: { 'xi-api-key': opts.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      if (response.ok) return Buffer.from(await response.arrayBuffer());
    } catch (err) {
      throw new TransientVoiceError(redact(`no answer from ${PROVIDER}: ${describeError(err)}`));
    }
    const reason = redact(await errorReason(response));
    if (response.status === 429 || response.status >= 500) {
      throw new TransientVoiceError(reason, retryAfterMs(response.headers.get('retry-after')));
    }
    throw new MediaError('voice_rejected', `${PROVIDER} rejected the request: ${reason}`, reason);
  };

  return {
    name: 'elevenlabs',
    languages,
    voices,
    rates: RATES,
    async synthesize(text, language, outPath, { voice: asked, rate, signal } = {}) {
      if (!languages.includes(language)) {
        throw new MediaError(
          'voice_synthesis_failed',
          `the ${PROVIDER} model ${opts.modelId} does not speak "${language}"`,
        );
      }
      const voice = chooseVoice('elevenlabs', voices, language, asked);
      const pieces: Buffer[] = [];
      // One after the other: ElevenLabs caps concurrent requests per account, and jobs share it.
      for (const piece of splitText(text, language, MAX_CHARACTERS, (s) => s.length)) {
        pieces.push(
          await withRetries(PROVIDER, policy, breaker, signal, (attemptSignal) =>
            speak(piece, { language, voice, rate }, attemptSignal),
          ),
        );
      }
      if (!pieces.some((pcm) => pcm.length > 0)) {
        throw new MediaError('voice_synthesis_failed', `${PROVIDER} returned no audio`);
      }
      await writeFile(outPath, wavFile(PCM, pieces));
    },
  };
}

/**
 * The status and ElevenLabs' own words: `detail.message` on its errors, a list of `msg` on a
 * request it finds malformed, or the start of whatever else came back.
 */
async function errorReason(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let words = text.slice(0, 300);
  try {
    const { detail } = JSON.parse(text) as { detail?: unknown };
    if (typeof detail === 'string') words = detail;
    else if (Array.isArray(detail)) words = detail.map((d: { msg?: unknown }) => String(d?.msg ?? '')).join('; ');
    else if (detail && typeof detail === 'object' && 'message' in detail) words = String(detail.message);
  } catch {
    // Not JSON: the start of the body stands.
  }
  return `HTTP ${response.status}${words ? `: ${words}` : ''}`;
}
