//! GPU path (feature `cuda`). Filled in by the GPU work.
