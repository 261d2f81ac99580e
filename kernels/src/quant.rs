//! BitNet b1.58 ternary kernels (see DESIGN.md, "quant"). Filled in by the quant work.
