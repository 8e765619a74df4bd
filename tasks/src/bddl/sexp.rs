//! Nesting tokens into S-expressions, like the second half of `bddl.parsing.scan_tokens`.
//!
//! `scan_tokens` fails with "Missing open parenthesis", "Missing close parenthesis" or
//! "Malformed expression" (not exactly one top-level expression); the same three cases are
//! errors here, with the line to look at.

use std::path::Path;

use super::error::BddlError;
use super::token::{Token, TokenKind};

/// A word or a parenthesised list, with the lines it spans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sexp {
    /// A word (lowercased by the tokenizer).
    Word {
        /// The word.
        text: String,
        /// Its line.
        line: usize,
    },
    /// `( items… )`.
    List {
        /// The items, in order.
        items: Vec<Sexp>,
        /// Line of the `(`.
        line: usize,
        /// Line of the `)`.
        close_line: usize,
    },
}

impl Sexp {
    /// The line the expression starts on.
    pub(crate) fn line(&self) -> usize {
        match self {
            Self::Word { line, .. } | Self::List { line, .. } => *line,
        }
    }

    /// A short description for "found …" in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Word { text, .. } => format!("`{text}`"),
            Self::List { items, .. } => match items.first() {
                None => "`()`".to_owned(),
                Some(Self::Word { text, .. }) => format!("`({text} …)`"),
                Some(Self::List { .. }) => "`((…) …)`".to_owned(),
            },
        }
    }
}

/// Deepest nesting accepted. LIBERO files nest 6 deep (`define` > `:regions` > region >
/// `:ranges` > boxes > box); the limit keeps hostile input from overflowing the stack when the
/// tree is dropped or compared.
pub(crate) const MAX_DEPTH: usize = 64;

/// Reads exactly one top-level S-expression from `tokens`.
pub(crate) fn read_one(tokens: &[Token], file: &Path) -> Result<Sexp, BddlError> {
    let syntax = |line: usize, expected: &str, found: String| BddlError::Syntax {
        file: file.to_path_buf(),
        line,
        expected: expected.to_owned(),
        found,
    };
    // Stack of open lists: (line of `(`, items so far).
    let mut stack: Vec<(usize, Vec<Sexp>)> = Vec::new();
    let mut top: Vec<Sexp> = Vec::new();
    for token in tokens {
        let item = match &token.kind {
            TokenKind::Open => {
                if stack.len() == MAX_DEPTH {
                    return Err(syntax(
                        token.line,
                        &format!("at most {MAX_DEPTH} nested lists"),
                        "a deeper `(`".to_owned(),
                    ));
                }
                stack.push((token.line, Vec::new()));
                continue;
            }
            TokenKind::Close => {
                let Some((line, items)) = stack.pop() else {
                    return Err(syntax(
                        token.line,
                        "a word, `(` or end of input",
                        "`)` with no matching `(`".to_owned(),
                    ));
                };
                Sexp::List {
                    items,
                    line,
                    close_line: token.line,
                }
            }
            TokenKind::Word(text) => Sexp::Word {
                text: text.clone(),
                line: token.line,
            },
        };
        match stack.last_mut() {
            Some((_, items)) => items.push(item),
            None => top.push(item),
        }
    }
    if let Some((line, _)) = stack.last() {
        let end = tokens.last().map_or(*line, |t| t.line);
        return Err(syntax(
            *line,
            "`)` to close the `(` opened on this line",
            format!("end of input at line {end}"),
        ));
    }
    let mut top = top.into_iter();
    let Some(first) = top.next() else {
        return Err(syntax(1, "`(define …)`", "no expression".to_owned()));
    };
    if let Some(extra) = top.next() {
        return Err(syntax(
            extra.line(),
            "end of input after the first top-level expression",
            extra.describe(),
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{MAX_DEPTH, Sexp, read_one};
    use crate::bddl::token::tokenize;

    fn read(text: &str) -> Result<Sexp, String> {
        read_one(&tokenize(text), Path::new("t.bddl")).map_err(|e| e.to_string())
    }

    #[test]
    fn nests_lists_with_lines() {
        let s = read("(a\n (b c)\n)").unwrap();
        let Sexp::List {
            items,
            line,
            close_line,
        } = s
        else {
            panic!("not a list")
        };
        assert_eq!((line, close_line), (1, 3));
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].line(), 2);
        assert_eq!(items[1].describe(), "`(b …)`");
    }

    #[test]
    fn unbalanced_parens_name_the_line() {
        assert_eq!(
            read("(a\n (b c\n)").unwrap_err(),
            "t.bddl:1: expected `)` to close the `(` opened on this line, found end of input at line 3"
        );
        assert_eq!(
            read("(a)\n)").unwrap_err(),
            "t.bddl:2: expected a word, `(` or end of input, found `)` with no matching `(`"
        );
    }

    #[test]
    fn exactly_one_expression() {
        assert_eq!(
            read("; only a comment\n").unwrap_err(),
            "t.bddl:1: expected `(define …)`, found no expression"
        );
        assert_eq!(
            read("(a)\n\n(b)").unwrap_err(),
            "t.bddl:3: expected end of input after the first top-level expression, found `(b …)`"
        );
        assert_eq!(read("word").unwrap().describe(), "`word`");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(read(&ok).is_ok());
        let deep = format!("(\n{}", "(".repeat(100_000));
        assert_eq!(
            read(&deep).unwrap_err(),
            "t.bddl:2: expected at most 64 nested lists, found a deeper `(`"
        );
    }
}
