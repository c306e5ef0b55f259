/**
 * Several named meters in one ffmpeg run (the mux meters every track it delivers that way): each
 * summary is read back as its own meter's, whatever order the run prints them in.
 */
import { loudnessMeter, parseLoudnessSummary } from '../../../shared/media/loudness';
import { runFfmpeg } from '../../../shared/media/run-ffmpeg';

test('each named meter reads its own stream', async () => {
  // Three tones 10 dB apart, metered under names that do not follow their order in the graph.
  const names = ['track2', 'track0', 'track1'];
  const { stderr } = await runFfmpeg(
    [
      ...names.flatMap((_, i) => ['-f', 'lavfi', '-i', `sine=f=440:sample_rate=48000:d=3,volume=-${10 * i}dB`]),
      ...['-filter_complex', names.map((name, i) => `[${i}:a]${loudnessMeter(name)}[m${i}]`).join(';')],
      ...names.flatMap((_, i) => ['-map', `[m${i}]`, '-f', 'null', '-']),
    ],
    { logLevel: 'info' },
  );
  const loudest = parseLoudnessSummary(stderr, 'track2').integratedLufs;
  expect(parseLoudnessSummary(stderr, 'track0').integratedLufs).toBeCloseTo(loudest - 10, 1);
  expect(parseLoudnessSummary(stderr, 'track1').integratedLufs).toBeCloseTo(loudest - 20, 1);
  expect(() => parseLoudnessSummary(stderr, 'track3')).toThrow('no summary');
});
