//! Source text for the interface description: a method's signature and
//! types printed the way a person writes them (`&mut [IoSliceMut<'_>]`, not
//! the token stream's `& mut [IoSliceMut < '_ >]`), and its doc comment.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// `tokens` as conventionally spaced Rust source on one line.
pub fn pretty(tokens: impl ToTokens) -> String {
    let mut pieces = Vec::new();
    flatten(tokens.into_token_stream(), &mut pieces);
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 && space_between(&pieces[i - 1], piece) {
            out.push(' ');
        }
        out.push_str(&piece.text);
    }
    out
}

/// One printed token: a word (identifier, literal, lifetime) or a whole
/// operator (`::`, `->`, `&`).
struct Piece {
    text: String,
    word: bool,
}

fn flatten(tokens: TokenStream, out: &mut Vec<Piece>) {
    // Joint punctuation collects here until the operator ends.
    let mut operator = String::new();
    for tree in tokens {
        match tree {
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                // Joint spacing only says another punctuation character
                // follows: `>,`, `>::` and `<'` are two, `>>` is one.
                let ends = (operator.ends_with('>') && !matches!(c, '>' | '='))
                    || (operator.ends_with('<') && !matches!(c, '<' | '='));
                if !operator.is_empty() && (matches!(c, ',' | ';') || ends) {
                    out.push(Piece {
                        text: std::mem::take(&mut operator),
                        word: false,
                    });
                }
                operator.push(c);
                if punct.spacing() == Spacing::Alone || punct.as_char() == '\'' {
                    if punct.as_char() == '\'' {
                        // A lifetime: the identifier follows.
                        continue;
                    }
                    out.push(Piece {
                        text: std::mem::take(&mut operator),
                        word: false,
                    });
                }
            }
            TokenTree::Ident(ident) => out.push(Piece {
                text: format!("{}{ident}", std::mem::take(&mut operator)),
                word: true,
            }),
            TokenTree::Literal(literal) => out.push(Piece {
                text: literal.to_string(),
                word: true,
            }),
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                let piece = |text: &str| Piece {
                    text: text.into(),
                    word: false,
                };
                if !open.is_empty() {
                    out.push(piece(open));
                }
                flatten(group.stream(), out);
                if !close.is_empty() {
                    out.push(piece(close));
                }
            }
        }
    }
}

fn space_between(prev: &Piece, next: &Piece) -> bool {
    let (p, n) = (prev.text.as_str(), next.text.as_str());
    // `>>` closes two generic lists (`Result<Handle<File>>`).
    let closes = !n.is_empty() && n.chars().all(|c| c == '>');
    if closes || matches!(n, ")" | "]" | "," | ";" | "?" | "." | "<" | "::" | ":") {
        return false;
    }
    if matches!(p, "(" | "[" | "<" | "&" | "*" | "!" | "#" | "::") {
        return false;
    }
    // A call or signature's parameter list follows its name.
    !(n == "(" && prev.word)
}

/// The doc comment of `attrs`, one line per `///` line, with the one space
/// after `///` removed.
pub fn docs(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::pretty;

    fn check(source: &str, expected: &str) {
        let tokens: proc_macro2::TokenStream = source.parse().unwrap();
        assert_eq!(pretty(tokens), expected, "{source}");
    }

    #[test]
    fn types_and_signatures_print_as_written() {
        check("& mut [ IoSliceMut < '_ > ]", "&mut [IoSliceMut<'_>]");
        check("&'a str", "&'a str");
        check(
            "fn open(&mut self, path: &str) -> Result<Handle<File>, Errno>",
            "fn open(&mut self, path: &str) -> Result<Handle<File>, Errno>",
        );
        check(
            "async fn read(&self, fd: Borrow<File>, bufs: &mut [std::io::IoSliceMut<'_>]) -> (u32, u64)",
            "async fn read(&self, fd: Borrow<File>, bufs: &mut [std::io::IoSliceMut<'_>]) -> (u32, u64)",
        );
        check(
            "fn f(cx: &mut funk::GuestCx<'_, Self>, x: [u8; 4]) -> Vec<Vec<u8>>",
            "fn f(cx: &mut funk::GuestCx<'_, Self>, x: [u8; 4]) -> Vec<Vec<u8>>",
        );
        check("*const u8", "*const u8");
        check("()", "()");
    }
}
