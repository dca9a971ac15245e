//! Tether's benchmarks live in `benches/` (criterion: `cargo bench -p tether-bench`) and, for
//! whole-system figures, in scripts beside them that write `bench/RESULTS.md`.

pub mod leaf_web;
