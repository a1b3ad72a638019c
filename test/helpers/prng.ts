/**
 * The seeded PRNG of the fuzz and property tests (mulberry32, src/core/prng.ts): the same
 * sequence on every run for a seed, so a failing case can be replayed.
 */
export { mulberry32 as prng } from '../../src/core/prng.js';
