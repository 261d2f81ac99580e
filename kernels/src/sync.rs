//! Repository sync kernels (see DESIGN.md, "sync"). Filled in by the sync work.
