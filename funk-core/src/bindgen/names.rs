//! Turning names from the interface (import modules, method and parameter
//! names, type names) into identifiers that are valid in generated code.

/// Rust's strict and reserved keywords (edition 2024), which an identifier
/// must spell as a raw identifier.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Keywords that cannot be raw identifiers either.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// `name` with every character that cannot be in an identifier replaced by
/// `_`, and a leading `_` if it starts with a digit (or is empty).
pub(crate) fn plain_identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A Rust identifier for `name`: [`plain_identifier`], spelled raw when it
/// is a keyword (`type` becomes `r#type`), with `_` appended for the
/// keywords that have no raw form.
pub(crate) fn rust_identifier(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let out = plain_identifier(name);
    if NOT_RAW.contains(&out.as_str()) {
        format!("{out}_")
    } else if KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else {
        out
    }
}

/// A string as a Rust string literal: quotes, backslashes and control
/// characters escaped; everything else as is.
pub(crate) fn string_literal(text: &str) -> String {
    quoted(text, |c| format!("\\u{{{c:x}}}"))
}

/// `text` in double quotes with `"`, `\\`, `\n`, `\r` and `\t` escaped the
/// way Rust, C and JSON agree on, and other control characters by
/// `control` (the languages differ there).
pub(crate) fn quoted(text: &str, control: fn(u32) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&control(c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A doc comment as lines of `prefix` comments (`///`, ` *`), one per line
/// of `docs`; nothing for empty docs.
pub(crate) fn doc_lines(docs: &str, prefix: &str, indent: &str) -> String {
    let docs = docs.trim_end();
    if docs.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for line in docs.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str(&format!("{indent}{prefix}\n"));
        } else {
            out.push_str(&format!("{indent}{prefix} {line}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_rust() {
        assert_eq!(rust_identifier("open"), "open");
        assert_eq!(rust_identifier("type"), "r#type");
        assert_eq!(rust_identifier("r#type"), "r#type");
        assert_eq!(rust_identifier("self"), "self_");
        assert_eq!(rust_identifier("lunatic::process"), "lunatic__process");
        assert_eq!(rust_identifier("2d"), "_2d");
        assert_eq!(rust_identifier(""), "__");
        assert_eq!(plain_identifier("wasi-io"), "wasi_io");
    }

    #[test]
    fn literals_escape_what_they_must() {
        assert_eq!(
            string_literal("a\"b\\c\nd\u{1}"),
            "\"a\\\"b\\\\c\\nd\\u{1}\""
        );
    }

    #[test]
    fn doc_comments_keep_blank_lines() {
        assert_eq!(
            doc_lines("one\n\ntwo\n", "///", "    "),
            "    /// one\n    ///\n    /// two\n"
        );
        assert_eq!(doc_lines("  ", "///", ""), "");
    }
}
