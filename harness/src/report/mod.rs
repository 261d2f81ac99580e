//! Sign-off report formats (Markdown, HTML, JSON). Filled in by the sign-off work.
