/** `n` floats uniform in [-1, 1) from a linear congruential generator seeded with `seed`: reproducible test data. */
export function uniformData(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}
