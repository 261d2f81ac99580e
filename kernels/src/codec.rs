//! COBOL copybook record decoding (see DESIGN.md, "codec"). Filled in by the codec work.
