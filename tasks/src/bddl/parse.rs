//! From the S-expression tree to a typed [`Problem`]: a port of LIBERO's
//! `robosuite_parse_problem` (`libero/libero/envs/bddl_utils.py`), stricter where LIBERO
//! silently ignores or mangles input (see the module docs of [`crate::bddl`]).

use std::path::Path;

use super::error::BddlError;
use super::region;
use super::sexp::Sexp;
use super::types::{Atom, Instance, Predicate, Problem};

/// Logical connectives: LIBERO only unwraps one top-level `and` in `:goal`.
const CONNECTIVES: [&str; 7] = ["and", "or", "not", "imply", "forall", "exists", "when"];

/// The section keywords, in the order LIBERO files (and the writer) use.
const SECTIONS: [&str; 9] = [
    "problem",
    ":domain",
    ":language",
    ":regions",
    ":fixtures",
    ":objects",
    ":obj_of_interest",
    ":init",
    ":goal",
];
const KNOWN_SECTIONS: &str = "`problem`, `:domain`, `:language`, `:regions`, `:fixtures`, \
                              `:objects`, `:obj_of_interest`, `:init`, `:goal`";
/// Sections that may be left out (they default to empty).
const OPTIONAL: [&str; 3] = [":regions", ":fixtures", ":obj_of_interest"];

/// A section as found: its line, its items after the keyword, and the line of its `)`.
#[derive(Clone, Copy)]
struct Found<'a> {
    line: usize,
    body: &'a [Sexp],
    close_line: usize,
}

/// Parsing context: the file name for errors, and small helpers shared with `region.rs`.
pub(crate) struct Cx<'a> {
    pub(crate) file: &'a Path,
}

impl Cx<'_> {
    /// A [`BddlError::Syntax`] at `line`.
    pub(crate) fn syntax(
        &self,
        line: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> BddlError {
        BddlError::Syntax {
            file: self.file.to_path_buf(),
            line,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// `s` as a word, or an error saying `expected`.
    pub(crate) fn word<'s>(&self, s: &'s Sexp, expected: &str) -> Result<&'s str, BddlError> {
        match s {
            Sexp::Word { text, .. } => Ok(text),
            Sexp::List { line, .. } => Err(self.syntax(*line, expected, s.describe())),
        }
    }

    /// `s` as a list: `(items, line of '(', line of ')')`.
    pub(crate) fn list<'s>(
        &self,
        s: &'s Sexp,
        expected: &str,
    ) -> Result<(&'s [Sexp], usize, usize), BddlError> {
        match s {
            Sexp::List {
                items,
                line,
                close_line,
            } => Ok((items, *line, *close_line)),
            Sexp::Word { line, .. } => Err(self.syntax(*line, expected, s.describe())),
        }
    }

    /// Exactly one word in `body` (the items of a list closed on `close_line`).
    pub(crate) fn single_word(
        &self,
        body: &[Sexp],
        close_line: usize,
        what: &str,
    ) -> Result<String, BddlError> {
        match body {
            [] => Err(self.syntax(close_line, what, "`)`")),
            [one] => Ok(self.word(one, what)?.to_owned()),
            [_, extra, ..] => {
                Err(self.syntax(extra.line(), format!("`)` after {what}"), extra.describe()))
            }
        }
    }

    /// Every item of `body` as a word.
    fn words(&self, body: &[Sexp], what: &str) -> Result<Vec<String>, BddlError> {
        body.iter()
            .map(|s| self.word(s, what).map(str::to_owned))
            .collect()
    }

    /// `a b - category c - category …` (the form of `:fixtures` and `:objects`).
    fn instances(
        &self,
        body: &[Sexp],
        close_line: usize,
        section: &str,
    ) -> Result<Vec<Instance>, BddlError> {
        let mut out = Vec::new();
        let mut pending: Vec<(&str, usize)> = Vec::new();
        let mut items = body.iter();
        while let Some(item) = items.next() {
            let word = self.word(item, "an instance name or `-`")?;
            if word != "-" {
                pending.push((word, item.line()));
                continue;
            }
            if pending.is_empty() {
                return Err(self.syntax(item.line(), "an instance name before `-`", "`-`"));
            }
            let expected = "a category name after `-`";
            let category = match items.next() {
                None => return Err(self.syntax(close_line, expected, "`)`")),
                Some(c) => self.word(c, expected)?,
            };
            if category == "-" {
                return Err(self.syntax(item.line(), expected, "`-`"));
            }
            out.extend(pending.drain(..).map(|(name, _)| Instance {
                name: name.to_owned(),
                category: category.to_owned(),
            }));
        }
        if let Some((_, line)) = pending.first() {
            let names: Vec<&str> = pending.iter().map(|(n, _)| *n).collect();
            return Err(self.syntax(
                *line,
                format!("`- <category>` after `{}`", names.join(" ")),
                format!("the end of `{section}` (line {close_line})"),
            ));
        }
        Ok(out)
    }

    /// A ground atom `(predicate arg …)`.
    fn atom(&self, s: &Sexp, section: &'static str) -> Result<Atom, BddlError> {
        let (items, line, _) = self.list(s, "an atom such as `(on a b)`")?;
        let Some((head, args)) = items.split_first() else {
            return Err(self.syntax(line, "a predicate name", "`()`"));
        };
        let name = self.word(head, "a predicate name")?;
        if CONNECTIVES.contains(&name) {
            return Err(BddlError::UnsupportedConnective {
                file: self.file.to_path_buf(),
                line: head.line(),
                section,
                connective: name.to_owned(),
            });
        }
        Ok(Atom {
            predicate: Predicate::from_name(name),
            args: self.words(args, "an argument name (atoms are ground and flat)")?,
        })
    }

    /// `(:goal (and atom …))` or `(:goal atom)`.
    fn goal(&self, found: Found<'_>) -> Result<Vec<Atom>, BddlError> {
        let expected = "a goal atom or a conjunction `(and atom …)`";
        let one = match found.body {
            [] => return Err(self.syntax(found.close_line, expected, "`)`")),
            [one] => one,
            [_, extra, ..] => {
                return Err(self.syntax(
                    extra.line(),
                    "`)` after the goal (one atom or one `(and …)`)",
                    extra.describe(),
                ));
            }
        };
        let (items, line, _) = self.list(one, expected)?;
        match items.split_first() {
            Some((Sexp::Word { text, .. }, atoms)) if text == "and" => {
                if atoms.is_empty() {
                    return Err(self.syntax(line, "at least one atom in `(and …)`", "`(and)`"));
                }
                atoms.iter().map(|a| self.atom(a, ":goal")).collect()
            }
            _ => Ok(vec![self.atom(one, ":goal")?]),
        }
    }
}

/// Parses the `(define …)` expression of a BDDL problem file.
pub(crate) fn problem(root: &Sexp, file: &Path) -> Result<Problem, BddlError> {
    let cx = Cx { file };
    let (items, line, close_line) = cx.list(root, "`(define (problem …) …)`")?;
    let Some((head, sections)) = items.split_first() else {
        return Err(cx.syntax(line, "`define`", "`()`"));
    };
    if cx.word(head, "`define`")? != "define" {
        return Err(cx.syntax(head.line(), "`define`", head.describe()));
    }
    let mut found: [Option<Found<'_>>; SECTIONS.len()] = [None; SECTIONS.len()];
    for section in sections {
        let (items, sline, sclose) = cx.list(section, "a section such as `(:objects …)`")?;
        let Some((key, body)) = items.split_first() else {
            return Err(cx.syntax(sline, "a section keyword", "`()`"));
        };
        let key = cx.word(key, "a section keyword")?;
        let Some(index) = SECTIONS.iter().position(|s| *s == key) else {
            return Err(BddlError::UnknownSection {
                file: file.to_path_buf(),
                line: sline,
                expected: KNOWN_SECTIONS,
                found: key.to_owned(),
            });
        };
        if let Some(first) = found[index] {
            return Err(BddlError::Duplicate {
                file: file.to_path_buf(),
                line: sline,
                section: key.to_owned(),
                first_line: first.line,
            });
        }
        found[index] = Some(Found {
            line: sline,
            body,
            close_line: sclose,
        });
    }
    for (name, section) in SECTIONS.iter().zip(&found) {
        if section.is_none() && !OPTIONAL.contains(name) {
            return Err(BddlError::MissingSection {
                file: file.to_path_buf(),
                line,
                section: name,
            });
        }
    }
    let empty = Found {
        line,
        body: &[],
        close_line,
    };
    let [
        problem,
        domain,
        language,
        regions,
        fixtures,
        objects,
        interest,
        init,
        goal,
    ] = found.map(|f| f.unwrap_or(empty));
    Ok(Problem {
        file: file.to_path_buf(),
        name: cx.single_word(problem.body, problem.close_line, "a problem name")?,
        domain: cx.single_word(domain.body, domain.close_line, "a domain name")?,
        language: cx
            .words(language.body, "a word of the instruction")?
            .join(" "),
        regions: region::regions(&cx, regions.body)?,
        fixtures: cx.instances(fixtures.body, fixtures.close_line, ":fixtures")?,
        objects: cx.instances(objects.body, objects.close_line, ":objects")?,
        obj_of_interest: cx.words(interest.body, "an instance or region name")?,
        init: init
            .body
            .iter()
            .map(|a| cx.atom(a, ":init"))
            .collect::<Result<_, _>>()?,
        goal: cx.goal(goal)?,
    })
}
