/**
 * The wall clock that rate-limit windows and usage days are read from. It is one function so that
 * a test can cross a minute, an hour or a day by moving it instead of waiting that long.
 */
let source: () => number = Date.now;

/** Milliseconds since the epoch. */
export const now = (): number => source();

/** Reads the time from `next` from now on; without an argument, from the wall clock again. */
export function setClock(next?: () => number): void {
  source = next ?? Date.now;
}
