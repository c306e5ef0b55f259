import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MediaError } from '../errors';
import { runFfmpeg } from '../run-ffmpeg';
import { chooseVoice, type VoiceEngine } from './engine';
import { LOCAL_VOICE_LANGUAGES, LOCAL_VOICES } from './local-languages';

export { LOCAL_VOICE_LANGUAGES, LOCAL_VOICES };

/**
 * The voice of the embedded default: ffmpeg's flite filter, no network, no account.
 *
 * Flite has English voices only, so every language is read with an English voice: a French script
 * comes out as French words pronounced the English way. Good enough to hear timing and mix; real
 * jobs use a cloud engine. Flite reads Latin letters only: accents are dropped first ("café" is
 * read "cafe"), and a script with nothing left to read (Japanese, Chinese, whatever language it
 * was submitted as) is refused rather than turned into silence. Flite has no rate of its own: the
 * caller changes the tempo of what it speaks.
 */
export function localVoiceEngine(): VoiceEngine {
  return {
    name: 'local-flite',
    languages: LOCAL_VOICE_LANGUAGES,
    voices: LOCAL_VOICES,
    rates: { min: 1, max: 1 },
    async synthesize(text, language, outPath, { voice: asked, signal } = {}) {
      if (!(LOCAL_VOICE_LANGUAGES as readonly string[]).includes(language)) {
        throw new MediaError('voice_synthesis_failed', `the local voice engine does not speak "${language}"`);
      }
      const voice = chooseVoice('local', LOCAL_VOICES, language, asked);
      const readable = toFliteText(text);
      if (!/[a-z0-9]/i.test(readable)) {
        throw new MediaError(
          'voice_synthesis_failed',
          `the local voice engine reads Latin script only and finds nothing to read in this ${language} text; a cloud voice engine is needed`,
        );
      }
      // The text goes through a file, never the command line or the filter string: no escaping to
      // get wrong, no length limit. A private directory gives the file a name that needs none either.
      const scratch = await mkdtemp(join(dirname(outPath), 'flite-'));
      try {
        await writeFile(join(scratch, 'text.txt'), readable, 'utf8');
        await runFfmpeg(
          [
            '-f',
            'lavfi',
            '-i',
            `flite=textfile=text.txt:voice=${voice}`,
            '-ac',
            '1',
            '-c:a',
            'pcm_s16le',
            '-y',
            outPath,
          ],
          { cwd: scratch, signal },
        );
      } catch (err) {
        if (err instanceof MediaError && err.code === 'processing_timeout') throw err;
        const detail = err instanceof MediaError ? err.detail : String(err);
        const reason = detail?.includes("No such filter: 'flite'")
          ? 'this ffmpeg build has no flite filter: point FFMPEG_BIN at one built with libflite'
          : 'flite failed';
        throw new MediaError('voice_synthesis_failed', `the local voice engine cannot speak: ${reason}`, detail);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

const LIGATURES: Readonly<Record<string, string>> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o' };

/** Plain ASCII for flite: accents stripped, typographic punctuation made plain, the rest dropped. */
function toFliteText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u201A\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u00AB\u00BB\u2033]/g, '"')
    .replace(/[\u2013\u2014]/g, ', ')
    .replace(/[ßæœø]/g, (letter) => LIGATURES[letter] ?? '')
    .replace(/[^\x20-\x7E\n\t]/g, ' ');
}
