//! Flame graphs of callgrind profiles, drawn by `inferno` from folded stacks
//! (`analysis::callgrind::Profile::folded`): one of a run's profile, and a differential one of
//! two (red where the new run executes more instructions, blue where fewer).

use crate::analysis::callgrind::{Profile, differential};

/// An SVG flame graph of `lines` (`stack count` or `stack old new`), titled `title`.
fn draw(lines: &[String], title: &str, subtitle: &str) -> anyhow::Result<String> {
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.subtitle = Some(subtitle.to_string());
    options.count_name = "instructions".into();
    // The same profile draws the same picture (no random colours).
    options.deterministic = true;
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)?;
    Ok(String::from_utf8(svg)?)
}

/// The flame graph of one profile.
pub fn of_profile(profile: &Profile, title: &str) -> anyhow::Result<String> {
    let lines: Vec<String> = profile
        .folded()
        .into_iter()
        .map(|(stack, ir)| format!("{stack} {ir}"))
        .collect();
    draw(&lines, title, "callgrind instructions (Ir) by call stack")
}

/// The differential flame graph of `old` → `new`: widths from the new profile, colour by
/// the change of each frame's instructions.
pub fn of_change(old: &Profile, new: &Profile, title: &str) -> anyhow::Result<String> {
    draw(
        &differential(old, new),
        title,
        "instructions old → new: red grew, blue shrank",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_and_a_change_draw_deterministic_svgs() {
        let text = "events: Ir\nfn=main\n1 5\ncfn=kernel\ncalls=1 2\n1 100\nfn=kernel\n2 100\n";
        let old = crate::analysis::callgrind::parse(text).unwrap();
        let new = crate::analysis::callgrind::parse(&text.replace(" 100", " 180")).unwrap();
        let svg = of_profile(&new, "kernel@scalar").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
        assert!(svg.contains("kernel") && svg.contains("kernel@scalar"));
        assert_eq!(svg, of_profile(&new, "kernel@scalar").unwrap());
        let diff = of_change(&old, &new, "kernel@scalar").unwrap();
        assert!(diff.contains("kernel"));
        assert_ne!(diff, svg);
    }
}
