//! The typed form of a LIBERO BDDL problem.
//!
//! Names are lowercase, as `scan_tokens` leaves them (so `LIBERO_Tabletop_Manipulation` is
//! `libero_tabletop_manipulation`). Order is kept everywhere: the order of `:objects` decides
//! the order of MuJoCo free joints in LIBERO scenes.

use std::fmt;
use std::path::PathBuf;

/// A parsed BDDL problem file (`(define (problem …) …)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file it was parsed from (the name given to [`parse_str`](super::parse_str)); errors
    /// about the problem, such as a goal naming an object the scene lacks, name it.
    pub file: PathBuf,
    /// `(problem NAME)`: LIBERO's scene/problem class, e.g. `libero_tabletop_manipulation`.
    pub name: String,
    /// `(:domain NAME)`; `robosuite` in every LIBERO file.
    pub domain: String,
    /// `(:language …)`: the words joined by single spaces (lowercase). LIBERO's evaluation
    /// instruction comes from the file name instead; this is metadata.
    pub language: String,
    /// `(:regions …)` in file order.
    pub regions: Vec<Region>,
    /// `(:fixtures …)` in file order.
    pub fixtures: Vec<Instance>,
    /// `(:objects …)` in file order (this is the free-joint order of the scene).
    pub objects: Vec<Instance>,
    /// `(:obj_of_interest …)`: instance or region-key names, in file order.
    pub obj_of_interest: Vec<String>,
    /// `(:init …)`: the initial-state atoms, in file order.
    pub init: Vec<Atom>,
    /// `(:goal …)`: the goal as a conjunction; success is every atom holding.
    pub goal: Vec<Atom>,
}

impl Problem {
    /// Fixtures then objects, each in file order.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.fixtures.iter().chain(&self.objects)
    }

    /// The category of a fixture or object instance, if it is declared.
    pub fn category_of(&self, instance: &str) -> Option<&str> {
        self.instances()
            .find(|i| i.name == instance)
            .map(|i| i.category.as_str())
    }

    /// The region whose key (`<target>_<name>`) is `key`.
    pub fn region(&self, key: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.key() == key)
    }
}

/// One entry of `(:regions …)`, e.g.
/// `(plate_region (:target main_table) (:ranges ((0.04 -0.03 0.06 -0.01))))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// The region name, e.g. `plate_region` or `top_region`.
    pub name: String,
    /// `(:target NAME)`: the workspace fixture (table, floor) or the instance the region is on.
    pub target: String,
    /// `(:ranges ((x0 y0 x1 y1) …))`: boxes relative to the workspace offset. Empty when the
    /// region names a site of its target instead.
    pub ranges: Vec<[f64; 4]>,
    /// `(:yaw_rotation ((lo hi) …))`, radians. LIBERO uses the last pair (default `[0, 0]`).
    pub yaw_rotation: Vec<[f64; 2]>,
    /// `(:rgba (r g b a))`; LIBERO's default is `[0, 0, 1, 0]`.
    pub rgba: Option<[f64; 4]>,
}

impl Region {
    /// The key LIBERO uses for this region in atoms: `<target>_<name>`, e.g.
    /// `main_table_plate_region`.
    pub fn key(&self) -> String {
        format!("{}_{}", self.target, self.name)
    }
}

/// One declared instance: `akita_black_bowl_1 - akita_black_bowl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Instance name, e.g. `akita_black_bowl_1`.
    pub name: String,
    /// Category (asset class), e.g. `akita_black_bowl`.
    pub category: String,
}

/// A ground atom such as `(on akita_black_bowl_1 main_table_bowl_region)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// The predicate.
    pub predicate: Predicate,
    /// Its arguments: instance names or region keys.
    pub args: Vec<String>,
}

/// A predicate name, lowercase as in LIBERO's `VALIDATE_PREDICATE_FN_DICT`.
///
/// The known ones get a variant; any other name is kept in [`Predicate::Other`], which never
/// holds a known name when built with [`Predicate::from_name`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// `on`: `(on a b)`, LIBERO's `b.check_ontop(a)` (b an object or a region key).
    On,
    /// `in`: `(in a b)`, LIBERO's `b.check_contact(a) and b.check_contain(a)`.
    In,
    /// `up`: `(up a)`, LIBERO's "a's z >= 1.0 m".
    Up,
    /// `open`: `(open x)`, an articulated instance (drawer, door) open.
    Open,
    /// `close`: `(close x)`, an articulated instance closed.
    Close,
    /// `turnon`: `(turnon x)`, a switchable instance (stove, faucet) on.
    TurnOn,
    /// `turnoff`: `(turnoff x)`, a switchable instance off.
    TurnOff,
    /// Any other name (`true`, `false`, `printjointstate`, …), lowercase.
    Other(String),
}

impl Predicate {
    /// The predicate for a lowercase name.
    pub fn from_name(name: &str) -> Self {
        match name {
            "on" => Self::On,
            "in" => Self::In,
            "up" => Self::Up,
            "open" => Self::Open,
            "close" => Self::Close,
            "turnon" => Self::TurnOn,
            "turnoff" => Self::TurnOff,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The lowercase name, as the tokenizer produces it.
    pub fn name(&self) -> &str {
        match self {
            Self::On => "on",
            Self::In => "in",
            Self::Up => "up",
            Self::Open => "open",
            Self::Close => "close",
            Self::TurnOn => "turnon",
            Self::TurnOff => "turnoff",
            Self::Other(name) => name,
        }
    }

    /// The name as LIBERO files spell it (`On`, `Turnon`); the writer uses this.
    pub fn libero_spelling(&self) -> String {
        let name = self.name();
        let mut chars = name.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect::<String>()
        })
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Atom {
    /// `(on a b)`, lowercase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}", self.predicate)?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::{Atom, Instance, Predicate, Problem, Region};

    #[test]
    fn predicate_names_round_trip() {
        for name in [
            "on", "in", "up", "open", "close", "turnon", "turnoff", "true",
        ] {
            assert_eq!(Predicate::from_name(name).name(), name);
        }
        assert_eq!(
            Predicate::from_name("printjointstate"),
            Predicate::Other("printjointstate".into())
        );
        assert_eq!(Predicate::TurnOn.libero_spelling(), "Turnon");
        assert_eq!(Predicate::On.libero_spelling(), "On");
        assert_eq!(Predicate::Other(String::new()).libero_spelling(), "");
    }

    #[test]
    fn lookups() {
        let p = Problem {
            file: "lookups.bddl".into(),
            name: "libero_tabletop_manipulation".into(),
            domain: "robosuite".into(),
            language: "put it there".into(),
            regions: vec![Region {
                name: "plate_region".into(),
                target: "main_table".into(),
                ranges: vec![[0.0, 0.0, 0.1, 0.1]],
                yaw_rotation: vec![],
                rgba: None,
            }],
            fixtures: vec![Instance {
                name: "main_table".into(),
                category: "table".into(),
            }],
            objects: vec![Instance {
                name: "plate_1".into(),
                category: "plate".into(),
            }],
            obj_of_interest: vec![],
            init: vec![],
            goal: vec![Atom {
                predicate: Predicate::On,
                args: vec!["plate_1".into(), "main_table_plate_region".into()],
            }],
        };
        assert_eq!(p.category_of("plate_1"), Some("plate"));
        assert_eq!(p.category_of("main_table"), Some("table"));
        assert_eq!(p.category_of("bowl_1"), None);
        assert!(p.region("main_table_plate_region").is_some());
        assert_eq!(
            p.goal[0].to_string(),
            "(on plate_1 main_table_plate_region)"
        );
    }
}
