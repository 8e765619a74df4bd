//! The BDDL tokenizer, a port of `bddl.parsing.scan_tokens` (bddl 1.0.1), with line numbers.
//!
//! `scan_tokens` does three things, in this order, and so does [`tokenize`]:
//! 1. strip comments: `re.sub(r';.*$', '', text, flags=re.MULTILINE)`, i.e. from `;` to the end
//!    of the line;
//! 2. lowercase everything (`str.lower()`);
//! 3. split into `(`, `)` and runs of characters that are neither whitespace nor parentheses
//!    (`re.findall(r'[()]|[^\s()]+', text)`).
//!
//! LIBERO reads the file in Python's text mode, which turns `\r\n` and a lone `\r` into `\n`,
//! so all three count as line ends here (they end a comment and advance the line number).
//! Whitespace is Python's `\s` for `str` patterns: Unicode whitespace plus the four separator
//! controls U+001C..U+001F.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// `(`
    Open,
    /// `)`
    Close,
    /// Any other run of non-whitespace, non-parenthesis characters, already lowercased.
    Word(String),
}

/// One token and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub kind: TokenKind,
    /// 1-based line number in the source text.
    pub line: usize,
}

/// Whether `c` is whitespace for Python's `re` `\s` on `str` (what `scan_tokens` splits on).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Splits `text` into lines the way Python's universal-newline reading does (`\r\n`, `\r`, `\n`).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        if let Some(i) = s.find(['\r', '\n']) {
            let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
            rest = Some(&s[i + skip..]);
            Some(&s[..i])
        } else {
            rest = None;
            Some(s)
        }
    })
}

/// Tokenizes BDDL text exactly like `bddl.parsing.scan_tokens`, keeping line numbers.
///
/// Never fails: every text has a token sequence. Balance and structure are checked later.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (index, raw) in lines(text).enumerate() {
        let line = index + 1;
        let code = raw.find(';').map_or(raw, |i| &raw[..i]);
        let lower = code.to_lowercase();
        let mut word = String::new();
        for c in lower.chars() {
            if c == '(' || c == ')' || is_space(c) {
                if !word.is_empty() {
                    tokens.push(Token {
                        kind: TokenKind::Word(std::mem::take(&mut word)),
                        line,
                    });
                }
                match c {
                    '(' => tokens.push(Token {
                        kind: TokenKind::Open,
                        line,
                    }),
                    ')' => tokens.push(Token {
                        kind: TokenKind::Close,
                        line,
                    }),
                    _ => {}
                }
            } else {
                word.push(c);
            }
        }
        if !word.is_empty() {
            tokens.push(Token {
                kind: TokenKind::Word(word),
                line,
            });
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::{Token, TokenKind, is_space, tokenize};
    use proptest::prelude::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    fn w(s: &str) -> TokenKind {
        TokenKind::Word(s.to_owned())
    }

    #[test]
    fn splits_parens_and_words() {
        assert_eq!(
            kinds("(On akita_black_bowl_1 main_table_region)"),
            vec![
                TokenKind::Open,
                w("on"),
                w("akita_black_bowl_1"),
                w("main_table_region"),
                TokenKind::Close
            ]
        );
        assert_eq!(
            kinds("((a)(b))"),
            vec![
                TokenKind::Open,
                TokenKind::Open,
                w("a"),
                TokenKind::Close,
                TokenKind::Open,
                w("b"),
                TokenKind::Close,
                TokenKind::Close
            ]
        );
        assert_eq!(
            kinds("-0.5 1e-3 - :target"),
            vec![w("-0.5"), w("1e-3"), w("-"), w(":target")]
        );
        assert!(kinds("").is_empty());
        assert!(kinds(" \t\n\r\n ").is_empty());
    }

    #[test]
    fn lowercases_everything() {
        assert_eq!(
            kinds("(:LANGUAGE Open The Drawer)"),
            vec![
                TokenKind::Open,
                w(":language"),
                w("open"),
                w("the"),
                w("drawer"),
                TokenKind::Close
            ]
        );
    }

    #[test]
    fn strips_comments_to_end_of_line() {
        let text = "(define ; a comment (with parens\n  (problem X)) ;; trailing";
        assert_eq!(
            kinds(text),
            vec![
                TokenKind::Open,
                w("define"),
                TokenKind::Open,
                w("problem"),
                w("x"),
                TokenKind::Close,
                TokenKind::Close
            ]
        );
        // A comment glued to a word ends the word.
        assert_eq!(kinds("abc;def\nghi"), vec![w("abc"), w("ghi")]);
    }

    #[test]
    fn line_numbers_follow_all_newline_styles() {
        let toks = tokenize("a\nb\r\nc\rd ; x\ne");
        let lines: Vec<usize> = toks.iter().map(|t| t.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5]);
        // A lone `\r` ends a comment, as in Python text mode.
        assert_eq!(kinds("a ; c\rb"), vec![w("a"), w("b")]);
    }

    #[test]
    fn python_whitespace() {
        assert!(is_space('\u{1f}'));
        assert!(is_space('\u{a0}'));
        assert!(!is_space('\u{feff}'));
        assert_eq!(kinds("a\u{1c}b\u{a0}c"), vec![w("a"), w("b"), w("c")]);
        assert_eq!(
            tokenize("x"),
            vec![Token {
                kind: w("x"),
                line: 1
            }]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = tokenize(&text);
        }

        #[test]
        fn words_hold_no_separators(text in "[a-zA-Z0-9_:;() \t\r\n.-]{0,200}") {
            for t in tokenize(&text) {
                if let TokenKind::Word(s) = t.kind {
                    prop_assert!(!s.is_empty());
                    prop_assert!(!s.contains(['(', ')', ';']) && !s.chars().any(is_space));
                    prop_assert_eq!(s.clone(), s.to_lowercase());
                }
            }
        }

        #[test]
        fn paren_counts_match_the_comment_free_text(text in "[a-z0-9() \n;]{0,200}") {
            let code: String = text
                .split('\n')
                .map(|l| l.split(';').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            let toks = kinds(&text);
            let opens = toks.iter().filter(|k| **k == TokenKind::Open).count();
            let closes = toks.iter().filter(|k| **k == TokenKind::Close).count();
            prop_assert_eq!(opens, code.matches('(').count());
            prop_assert_eq!(closes, code.matches(')').count());
            let word_chars: usize = toks
                .iter()
                .map(|k| if let TokenKind::Word(s) = k { s.len() } else { 0 })
                .sum();
            prop_assert_eq!(word_chars, code.chars().filter(char::is_ascii_alphanumeric).count());
        }

        #[test]
        fn appending_a_comment_changes_nothing(
            text in "[a-zA-Z0-9() \n]{0,120}",
            comment in "[^\r\n]{0,40}",
        ) {
            let commented: String = text
                .split('\n')
                .map(|l| format!("{l};{comment}"))
                .collect::<Vec<_>>()
                .join("\n");
            prop_assert_eq!(tokenize(&commented), tokenize(&text));
        }

        #[test]
        fn rejoined_tokens_tokenize_the_same(text in any::<String>()) {
            let toks = kinds(&text);
            let joined = toks
                .iter()
                .map(|k| match k {
                    TokenKind::Open => "(",
                    TokenKind::Close => ")",
                    TokenKind::Word(s) => s.as_str(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            prop_assert_eq!(kinds(&joined), toks);
        }

        #[test]
        fn line_numbers_are_monotonic_and_bounded(text in "[a-z()\n\r ;]{0,200}") {
            let toks = tokenize(&text);
            let n_lines = text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1;
            let mut last = 1;
            for t in &toks {
                prop_assert!(t.line >= last && t.line <= n_lines);
                last = t.line;
            }
        }
    }
}
