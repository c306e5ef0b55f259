/**
 * The fades every music bed gets, generated or from the library: in over 1.5 s, out over the last
 * 3 s, shorter on short videos so the music still reaches its full level.
 */
export function musicFades(samples: number, sampleRate: number): string[] {
  const seconds = samples / sampleRate;
  const fadeIn = Math.min(1.5, seconds / 4);
  const fadeOut = Math.min(3, seconds / 3);
  return [`afade=t=in:d=${num(fadeIn)}`, `afade=t=out:st=${num(seconds - fadeOut)}:d=${num(fadeOut)}`];
}

function num(value: number): string {
  return Number(value.toPrecision(10)).toString();
}
