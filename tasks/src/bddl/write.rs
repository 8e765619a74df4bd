//! The BDDL writer: [`Problem::to_bddl_string`], laid out like LIBERO's generated files.
//!
//! For every `p` the parser returns, `parse_str(&p.to_bddl_string(), &p.file) == Ok(p)`. The
//! output of a real LIBERO file differs from the file only in letter case (the parser
//! lowercases) and in numbers written as integers there (`0` comes back as `0.0`).

use std::fmt::Write as _;

use super::types::{Atom, Instance, Problem, Region};

impl Problem {
    /// Writes the problem as BDDL text in LIBERO's layout (section order, indentation,
    /// one range box per line, predicates spelled `On`/`Turnon`, goal as `(And …)`).
    ///
    /// Numbers use Rust's shortest round-trip form (`{:?}`), which matches Python's `repr`
    /// for the values LIBERO writes. Every section is written, even when empty. Names are
    /// written as they are, so a name with capitals, whitespace, `(`, `)` or `;` (the parser
    /// never produces one) does not survive a round trip.
    pub fn to_bddl_string(&self) -> String {
        let mut out = String::with_capacity(4096);
        // `fmt::Write` for `String` never fails.
        let _ = self.write_into(&mut out);
        out
    }

    fn write_into(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "(define (problem {})", self.name)?;
        writeln!(out, "  (:domain {})", self.domain)?;
        if self.language.is_empty() {
            writeln!(out, "  (:language)")?;
        } else {
            writeln!(out, "  (:language {})", self.language)?;
        }
        writeln!(out, "    (:regions")?;
        for region in &self.regions {
            write_region(out, region)?;
        }
        writeln!(out, "    )\n")?;
        write_instances(out, ":fixtures", &self.fixtures)?;
        write_instances(out, ":objects", &self.objects)?;
        writeln!(out, "  (:obj_of_interest")?;
        for name in &self.obj_of_interest {
            writeln!(out, "    {name}")?;
        }
        writeln!(out, "  )\n")?;
        writeln!(out, "  (:init")?;
        for atom in &self.init {
            writeln!(out, "    {}", Libero(atom))?;
        }
        writeln!(out, "  )\n")?;
        write!(out, "  (:goal\n    (And")?;
        for atom in &self.goal {
            write!(out, " {}", Libero(atom))?;
        }
        writeln!(out, ")\n  )\n\n)")
    }
}

/// An atom in LIBERO's spelling: `(On a b)`.
struct Libero<'a>(&'a Atom);

impl std::fmt::Display for Libero<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}", self.0.predicate.libero_spelling())?;
        for arg in &self.0.args {
            write!(f, " {arg}")?;
        }
        f.write_str(")")
    }
}

fn write_region(out: &mut String, region: &Region) -> std::fmt::Result {
    writeln!(out, "      ({}", region.name)?;
    writeln!(out, "          (:target {})", region.target)?;
    if !region.ranges.is_empty() {
        writeln!(out, "          (:ranges (")?;
        for row in &region.ranges {
            writeln!(out, "              ({})", numbers(row))?;
        }
        writeln!(out, "            )\n          )")?;
    }
    if !region.yaw_rotation.is_empty() {
        writeln!(out, "          (:yaw_rotation (")?;
        for row in &region.yaw_rotation {
            writeln!(out, "              ({})", numbers(row))?;
        }
        writeln!(out, "            )\n          )")?;
    }
    if let Some(rgba) = &region.rgba {
        writeln!(out, "          (:rgba ({}))", numbers(rgba))?;
    }
    writeln!(out, "      )")
}

/// `a b - category` lines; consecutive instances of one category share a line, as in LIBERO.
fn write_instances(out: &mut String, section: &str, instances: &[Instance]) -> std::fmt::Result {
    writeln!(out, "  ({section}")?;
    for group in instances.chunk_by(|a, b| a.category == b.category) {
        out.push_str("   ");
        for instance in group {
            write!(out, " {}", instance.name)?;
        }
        writeln!(out, " - {}", group[0].category)?;
    }
    writeln!(out, "  )\n")
}

fn numbers(row: &[f64]) -> String {
    row.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::bddl::{Atom, Instance, Predicate, Problem, Region, parse_str};

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,12}"
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            -10.0..10.0f64,
            Just(0.0),
            Just(-0.0),
            Just(0.060_000_000_000_000_005),
            Just(1e-9),
            Just(1e300)
        ]
    }

    fn atom() -> impl Strategy<Value = Atom> {
        (
            prop_oneof![
                Just(Predicate::On),
                Just(Predicate::In),
                Just(Predicate::TurnOn),
                Just(Predicate::Close),
                name()
                    .prop_filter("connectives are not predicates", |n| {
                        !["and", "or", "not", "imply", "forall", "exists", "when"]
                            .contains(&n.as_str())
                    })
                    .prop_map(|n| Predicate::from_name(&n)),
            ],
            prop::collection::vec(name(), 0..3),
        )
            .prop_map(|(predicate, args)| Atom { predicate, args })
    }

    fn region() -> impl Strategy<Value = Region> {
        (
            name(),
            name(),
            prop::collection::vec(prop::array::uniform4(finite()), 0..3),
            prop::collection::vec(prop::array::uniform2(finite()), 0..2),
            prop::option::of(prop::array::uniform4(finite())),
        )
            .prop_map(|(name, target, ranges, yaw_rotation, rgba)| Region {
                name,
                target,
                ranges,
                yaw_rotation,
                rgba,
            })
    }

    fn instances() -> impl Strategy<Value = Vec<Instance>> {
        prop::collection::vec(
            (name(), "[a-c]").prop_map(|(name, category)| Instance { name, category }),
            0..6,
        )
    }

    prop_compose! {
        fn problem()(
            name in name(),
            domain in name(),
            language in prop::collection::vec("[a-z0-9,.'!?-]{1,8}", 0..8),
            regions in prop::collection::vec(region(), 0..4),
            fixtures in instances(),
            objects in instances(),
            obj_of_interest in prop::collection::vec(name(), 0..3),
            init in prop::collection::vec(atom(), 0..5),
            goal in prop::collection::vec(atom(), 1..4),
        ) -> Problem {
            Problem {
                file: "gen.bddl".into(), name, domain, language: language.join(" "), regions, fixtures, objects,
                obj_of_interest, init, goal,
            }
        }
    }

    proptest! {
        #[test]
        fn parse_of_write_is_identity(p in problem()) {
            let text = p.to_bddl_string();
            let back = parse_str(&text, "gen.bddl");
            prop_assert!(back.is_ok(), "{:?}\n{}", back, text);
            prop_assert_eq!(back.unwrap(), p);
        }
    }

    #[test]
    fn layout_matches_libero() {
        let p = parse_str(
            "(define (problem LIBERO_Kitchen_Tabletop_Manipulation) (:domain robosuite)
               (:language turn on the stove)
               (:regions (flat_stove_init_region (:target kitchen_table)
                   (:ranges ((-0.21000000000000002 0.19 -0.19 0.21000000000000002)))
                   (:yaw_rotation ((0 0))))
                 (cook_region (:target flat_stove_1)))
               (:fixtures kitchen_table - kitchen_table flat_stove_1 - flat_stove)
               (:objects moka_pot_1 moka_pot_2 - moka_pot)
               (:obj_of_interest flat_stove_1)
               (:init (On flat_stove_1 kitchen_table_flat_stove_init_region))
               (:goal (And (Turnon flat_stove_1))))",
            "k.bddl",
        )
        .unwrap();
        let expected = "(define (problem libero_kitchen_tabletop_manipulation)
  (:domain robosuite)
  (:language turn on the stove)
    (:regions
      (flat_stove_init_region
          (:target kitchen_table)
          (:ranges (
              (-0.21000000000000002 0.19 -0.19 0.21000000000000002)
            )
          )
          (:yaw_rotation (
              (0.0 0.0)
            )
          )
      )
      (cook_region
          (:target flat_stove_1)
      )
    )

  (:fixtures
    kitchen_table - kitchen_table
    flat_stove_1 - flat_stove
  )

  (:objects
    moka_pot_1 moka_pot_2 - moka_pot
  )

  (:obj_of_interest
    flat_stove_1
  )

  (:init
    (On flat_stove_1 kitchen_table_flat_stove_init_region)
  )

  (:goal
    (And (Turnon flat_stove_1))
  )

)
";
        assert_eq!(p.to_bddl_string(), expected);
    }

    #[test]
    fn empty_sections_round_trip() {
        let p = Problem {
            file: "e.bddl".into(),
            name: "p".into(),
            domain: "robosuite".into(),
            language: String::new(),
            regions: vec![],
            fixtures: vec![],
            objects: vec![],
            obj_of_interest: vec![],
            init: vec![],
            goal: vec![Atom {
                predicate: Predicate::Other("true".into()),
                args: vec![],
            }],
        };
        assert_eq!(parse_str(&p.to_bddl_string(), "e.bddl").unwrap(), p);
    }
}
