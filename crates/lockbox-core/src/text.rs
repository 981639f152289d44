//! Text that crosses a trust boundary. Everything a provider sends is hostile
//! at every sink: this module holds the checks made on input (which characters
//! a field may hold), the one notion of "the same person" (identity keys), and
//! the escapes each sink needs (notification markup, CSV cells, one-line
//! terminal output).

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// Unicode general category Cf ("format") as of Unicode 16: invisible
/// characters that change how text around them is shown — bidi controls
/// (U+202A–202E, U+2066–2069, U+200E/F, U+061C), zero-width joiners and
/// spaces, the BOM, tag characters. Sorted, inclusive ranges.
pub const FORMAT_RANGES: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// A format (Cf) character: bidi controls, zero-width characters, tags.
pub fn is_format(c: char) -> bool {
    let c = c as u32;
    FORMAT_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// What a field refuses, if anything: `Some(description)` of the first bad
/// character. One-line fields refuse every control character (newlines and
/// tabs included); multi-line fields (a reason, a comment) allow `\n` and `\t`.
/// Both refuse format characters, which can make text read differently from
/// what it is (a bidi override turns `exe.txt` into `txt.exe`).
pub fn refused_char(value: &str, multiline: bool) -> Option<String> {
    value.chars().find_map(|c| {
        if c.is_control() && !(multiline && (c == '\n' || c == '\t')) {
            Some(if c == '\n' || c == '\r' {
                "a line break (this field is one line)".to_string()
            } else {
                format!("the control character U+{:04X}", c as u32)
            })
        } else if is_format(c) {
            Some(format!(
                "the invisible format character U+{:04X} (such as a bidi control)",
                c as u32
            ))
        } else {
            None
        }
    })
}

/// The key under which two names are "the same person": format characters
/// dropped, Unicode NFKC (compatibility forms such as full-width letters
/// folded), lower-cased, trimmed. `Alex@Provider.example`, `alex@provider.example`
/// and `ａｌｅｘ@provider.example` share one key.
pub fn identity_key(name: &str) -> String {
    let folded: String = name
        .chars()
        .filter(|c| !is_format(*c))
        .nfkc()
        .flat_map(char::to_lowercase)
        .collect();
    // Lower-casing can produce text that is no longer NFKC (rare); fold again.
    folded.nfkc().collect::<String>().trim().to_string()
}

/// Do two names denote the same person?
pub fn same_person(a: &str, b: &str) -> bool {
    a == b || identity_key(a) == identity_key(b)
}

/// Text for a sink that shows one line (a terminal table, a notification
/// summary, an email subject): control characters become a space, format
/// characters are dropped.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_format(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter(|c| !is_format(*c))
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// Text for a sink that shows several lines: line breaks and tabs kept, other
/// control characters (terminal escapes) become a space, format characters
/// are dropped.
pub fn multi_line(s: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_format(c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter(|c| !is_format(*c))
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// Escape for the freedesktop notification markup (a subset of XML that
/// daemons such as dunst render, links included): `& < > " '` become entities.
pub fn markup_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A menu item's label (tray menus through muda): `&` marks the next
/// character as the mnemonic and is dropped, so a literal one is `&&`.
pub fn menu_escape(s: &str) -> String {
    s.replace('&', "&&")
}

/// A CSV cell that no spreadsheet evaluates. A cell starting with `= + - @`,
/// a tab or a carriage return is a formula to Excel, LibreOffice and Sheets
/// (OWASP "CSV injection"): it gets a leading `'`. A cell that already starts
/// with `'` gets one more, so the escape is reversible ([`csv_cell_decode`]).
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// The value a [`csv_cell`] stands for.
pub fn csv_cell_decode(s: &str) -> &str {
    s.strip_prefix('\'').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_ranges_are_sorted_and_disjoint() {
        for w in FORMAT_RANGES.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:?}");
        }
        for c in [
            '\u{202E}',
            '\u{2066}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{00AD}',
        ] {
            assert!(is_format(c), "{c:?}");
        }
        for c in ['a', ' ', '\u{00AC}', '\u{2065}', '\u{FFFC}', 'é'] {
            assert!(!is_format(c), "{c:?}");
        }
    }

    #[test]
    fn identity_keys_fold_case_width_and_invisibles() {
        let k = identity_key("alex@provider.example");
        for v in [
            "Alex@provider.example",
            "ALEX@PROVIDER.EXAMPLE",
            "ａｌｅｘ@provider.example",
            "al\u{200B}ex@provider.example",
            "\u{202E}alex@provider.example",
            " alex@provider.example ",
        ] {
            assert_eq!(identity_key(v), k, "{v:?}");
            assert!(same_person(v, "alex@provider.example"));
        }
        assert!(!same_person(
            "alex@provider.example",
            "alexa@provider.example"
        ));
    }

    #[test]
    fn refused_characters() {
        assert_eq!(refused_char("plain text", false), None);
        assert_eq!(refused_char("two\nlines", true), None);
        assert!(refused_char("two\nlines", false)
            .unwrap()
            .contains("line break"));
        assert!(refused_char("tab\there", false).is_some());
        assert!(refused_char("esc\u{1b}[31m", true).is_some());
        assert!(refused_char("evil\u{202E}txt.exe", true)
            .unwrap()
            .contains("U+202E"));
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            markup_escape(r#"<a href="https://evil.example/">Approve & go</a>"#),
            "&lt;a href=&quot;https://evil.example/&quot;&gt;Approve &amp; go&lt;/a&gt;"
        );
    }

    #[test]
    fn csv_cells_are_never_formulas_and_round_trip() {
        for v in [
            "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted", "plain", "",
        ] {
            let c = csv_cell(v);
            assert!(
                !matches!(c.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                "{v:?}"
            );
            assert_eq!(csv_cell_decode(&c), v);
        }
    }

    #[test]
    fn sinks_flatten() {
        assert_eq!(one_line("a\nb\u{1b}c\u{202E}d"), "a b cd");
        assert_eq!(multi_line("a\nb\u{1b}c\u{202E}d"), "a\nb cd");
        assert!(matches!(one_line("fine"), Cow::Borrowed(_)));
    }
}
