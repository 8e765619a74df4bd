//! Section-by-section parser tests and the error messages of broken inputs.

use proptest::prelude::*;

use super::{Atom, BddlError, Instance, Predicate, parse_file, parse_str};

/// A complete problem, LIBERO-style, one section per line (line numbers matter below).
const GOOD: &str = "\
(define (problem LIBERO_Tabletop_Manipulation) ; scene class
  (:domain robosuite)
  (:language Put the Bowl   on the plate)
  (:regions (bowl_region (:target main_table) (:ranges ((-0.1 -0.01 -0.08 0.01)))))
  (:fixtures main_table - table wooden_cabinet_1 - wooden_cabinet)
  (:objects akita_black_bowl_1 akita_black_bowl_2 - akita_black_bowl plate_1 - plate)
  (:obj_of_interest akita_black_bowl_1 plate_1)
  (:init (On akita_black_bowl_1 main_table_bowl_region) (Open wooden_cabinet_1))
  (:goal (And (On akita_black_bowl_1 plate_1) (Close wooden_cabinet_1)))
)
";

fn err(text: &str) -> String {
    parse_str(text, "bad.bddl").unwrap_err().to_string()
}

/// `GOOD` with line `n` (1-based) replaced.
fn with_line(n: usize, line: &str) -> String {
    GOOD.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { line } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

fn inst(name: &str, category: &str) -> Instance {
    Instance {
        name: name.into(),
        category: category.into(),
    }
}

#[test]
fn parses_every_section() {
    let p = parse_str(GOOD, "good.bddl").unwrap();
    assert_eq!(p.name, "libero_tabletop_manipulation");
    assert_eq!(p.domain, "robosuite");
    assert_eq!(p.language, "put the bowl on the plate");
    assert_eq!(p.regions.len(), 1);
    assert_eq!(p.regions[0].key(), "main_table_bowl_region");
    assert_eq!(
        p.fixtures,
        vec![
            inst("main_table", "table"),
            inst("wooden_cabinet_1", "wooden_cabinet")
        ]
    );
    assert_eq!(
        p.objects,
        vec![
            inst("akita_black_bowl_1", "akita_black_bowl"),
            inst("akita_black_bowl_2", "akita_black_bowl"),
            inst("plate_1", "plate"),
        ]
    );
    assert_eq!(p.obj_of_interest, vec!["akita_black_bowl_1", "plate_1"]);
    assert_eq!(
        p.init,
        vec![
            Atom {
                predicate: Predicate::On,
                args: vec!["akita_black_bowl_1".into(), "main_table_bowl_region".into()],
            },
            Atom {
                predicate: Predicate::Open,
                args: vec!["wooden_cabinet_1".into()],
            },
        ]
    );
    assert_eq!(p.goal.len(), 2);
    assert_eq!(p.goal[1].predicate, Predicate::Close);
    assert_eq!(p.file, std::path::Path::new("good.bddl"));
    assert_eq!(parse_str(&p.to_bddl_string(), "good.bddl").unwrap(), p);
}

#[test]
fn goal_may_be_a_single_atom_and_predicates_may_be_unknown() {
    let p = parse_str(&with_line(9, "(:goal (TurnOff flat_stove_1))"), "g.bddl").unwrap();
    assert_eq!(p.goal.len(), 1);
    assert_eq!(p.goal[0].predicate, Predicate::TurnOff);
    let p = parse_str(&with_line(9, "(:goal (and (Stack a b)))"), "g.bddl").unwrap();
    assert_eq!(p.goal[0].predicate, Predicate::Other("stack".into()));
}

#[test]
fn sections_in_any_order_and_optional_ones_default_to_empty() {
    let text = "(define (:goal (open d_1)) (:init) (:objects) (:language) (:domain robosuite)
                (problem p))";
    let p = parse_str(text, "o.bddl").unwrap();
    assert!(p.regions.is_empty() && p.fixtures.is_empty() && p.obj_of_interest.is_empty());
    assert_eq!(p.language, "");
    assert_eq!(parse_str(&p.to_bddl_string(), "o.bddl").unwrap(), p);
}

#[test]
fn unbalanced_parens() {
    assert_eq!(
        err(&with_line(
            8,
            "  (:init (On akita_black_bowl_1 main_table_bowl_region)"
        )),
        "bad.bddl:1: expected `)` to close the `(` opened on this line, found end of input at line 10"
    );
    assert_eq!(
        err(&format!("{GOOD})")),
        "bad.bddl:11: expected a word, `(` or end of input, found `)` with no matching `(`"
    );
}

#[test]
fn missing_unknown_and_repeated_sections() {
    assert_eq!(
        err(&with_line(9, "")),
        "bad.bddl:1: expected a `(:goal …)` section in the `(define …)` starting here, found none"
    );
    let e = err(&with_line(7, "  (:requirements :strips)"));
    assert!(
        e.starts_with("bad.bddl:7: expected one of the sections `problem`, `:domain`"),
        "{e}"
    );
    assert!(e.ends_with("found unknown section `:requirements`"), "{e}");
    assert_eq!(
        err(&with_line(7, "  (:domain robosuite)")),
        "bad.bddl:7: expected one `:domain`, found a second one (the first is on line 2)"
    );
    assert_eq!(
        err(&with_line(7, "  :obj_of_interest")),
        "bad.bddl:7: expected a section such as `(:objects …)`, found `:obj_of_interest`"
    );
}

#[test]
fn instances_need_categories() {
    assert_eq!(
        err(&with_line(
            6,
            "  (:objects akita_black_bowl_1 - akita_black_bowl plate_1)"
        )),
        "bad.bddl:6: expected `- <category>` after `plate_1`, found the end of `:objects` (line 6)"
    );
    assert_eq!(
        err(&with_line(5, "  (:fixtures main_table -\n)")),
        "bad.bddl:6: expected a category name after `-`, found `)`"
    );
    assert_eq!(
        err(&with_line(5, "  (:fixtures - table)")),
        "bad.bddl:5: expected an instance name before `-`, found `-`"
    );
    assert_eq!(
        err(&with_line(5, "  (:fixtures main_table - (table))")),
        "bad.bddl:5: expected a category name after `-`, found `(table …)`"
    );
}

#[test]
fn goals_are_conjunctions_of_flat_atoms() {
    assert_eq!(
        err(&with_line(9, "  (:goal (Or (On a b) (On b a)))")),
        "bad.bddl:9: expected an atom or a conjunction `(and atom …)` in `:goal`, found the \
         connective `or` (LIBERO goals are conjunctions of ground atoms)"
    );
    assert!(matches!(
        parse_str(&with_line(9, "(:goal (and (not (open d_1))))"), "n.bddl"),
        Err(BddlError::UnsupportedConnective { line: 9, ref connective, .. }) if connective == "not"
    ));
    assert_eq!(
        err(&with_line(9, "  (:goal (And))")),
        "bad.bddl:9: expected at least one atom in `(and …)`, found `(and)`"
    );
    assert_eq!(
        err(&with_line(9, "  (:goal\n  )")),
        "bad.bddl:10: expected a goal atom or a conjunction `(and atom …)`, found `)`"
    );
    assert_eq!(
        err(&with_line(9, "  (:goal (On a b) (On c d))")),
        "bad.bddl:9: expected `)` after the goal (one atom or one `(and …)`), found `(on …)`"
    );
    assert_eq!(
        err(&with_line(8, "  (:init (On (a) b))")),
        "bad.bddl:8: expected an argument name (atoms are ground and flat), found `(a …)`"
    );
    assert_eq!(
        err(&with_line(8, "  (:init ())")),
        "bad.bddl:8: expected a predicate name, found `()`"
    );
    assert_eq!(
        err(&with_line(8, "  (:init On)")),
        "bad.bddl:8: expected an atom such as `(on a b)`, found `on`"
    );
}

#[test]
fn header_errors() {
    assert_eq!(
        err("(problem p)"),
        "bad.bddl:1: expected `define`, found `problem`"
    );
    assert_eq!(
        err("define"),
        "bad.bddl:1: expected `(define (problem …) …)`, found `define`"
    );
    assert_eq!(
        err(&with_line(1, "(define (problem a b)")),
        "bad.bddl:1: expected `)` after a problem name, found `b`"
    );
    assert_eq!(
        err(&with_line(3, "  (:language put (the) bowl)")),
        "bad.bddl:3: expected a word of the instruction, found `(the …)`"
    );
}

#[test]
fn parse_file_names_the_path() {
    let e = parse_file("/nonexistent/dir/task.bddl").unwrap_err();
    assert!(matches!(e, BddlError::Io { .. }));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/dir/task.bddl: cannot read BDDL file:")
    );
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_str(&text, "any.bddl");
    }

    #[test]
    fn bddl_like_text_never_panics(
        text in r"(\(|\)|define|problem|:domain|:regions|:objects|:goal|:init|:target|:ranges|and|or|on|-|0\.5|x| |\n|;){0,80}"
    ) {
        let _ = parse_str(&text, "any.bddl");
    }

    #[test]
    fn mutated_good_file_errors_carry_a_line(cut in 0..GOOD.len()) {
        // Dropping one character gives either a valid problem or an error with a line in range.
        let mut text = GOOD.to_owned();
        if text.is_char_boundary(cut) {
            text.remove(cut);
        }
        if let Err(e) = parse_str(&text, "m.bddl") {
            let line = match e {
                BddlError::Syntax { line, .. }
                | BddlError::MissingSection { line, .. }
                | BddlError::UnknownSection { line, .. }
                | BddlError::Duplicate { line, .. }
                | BddlError::UnsupportedConnective { line, .. } => line,
                BddlError::Io { .. } => 0,
            };
            prop_assert!((1..=10).contains(&line), "{}", e);
        }
    }
}
