// autocannon ships no type declarations; the benchmarks use its documented options only.
declare module 'autocannon';
