/** Subjects the noisy-neighbour scenario uses to switch its flooder process (flooder.ts) on and off. */
export const FLOOD_CONTROL = "bench.flood.control"
export const FLOOD_REPORT = "bench.flood.report"
