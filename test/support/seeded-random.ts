/**
 * A small seeded generator for tests that try many generated inputs: the same seed gives the same
 * inputs, so a failure names a value that can be tried again. `next(n)` is an integer in [0, n),
 * taken from the high bits (the low bits of this generator repeat with a short period).
 */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * n);
  };
}
