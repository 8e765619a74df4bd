//! LIBERO's joint thresholds for `Open`, `Close`, `TurnOn` and `TurnOff`, per BDDL category.
//!
//! Source: LIBERO (MIT, commit `4f0dd18`) `libero/libero/envs/objects/articulated_objects.py`
//! (the `is_open`/`is_close`/`turn_on`/`turn_off` methods and their `default_*_ranges`), as
//! summarised in `../shared/docs/libero-protocol.md` §1.3. The object-state side
//! (`object_states/base_object_states.py`) combines the joints: `Open` and `TurnOn` hold if
//! **any** joint passes, `Close` and `TurnOff` if **all** joints pass (so an instance with no
//! joints is never open or on, and always closed or off).
//!
//! | category | open | close | turn on | turn off | LIBERO class |
//! |---|---|---|---|---|---|
//! | `wooden_cabinet`, `white_cabinet` | `q < −0.14` | `q > 0.0` | — | — | `WoodenCabinet`, `WhiteCabinet`: open ranges `[−0.16, −0.14]`, close `[0.0, 0.005]` |
//! | `microwave` | `q < −1.3` | `q > −0.005` | — | — | `Microwave`: open `[−2.094, −1.3]`, close `[−0.005, 0.0]` |
//! | `short_cabinet` | `q > 0.10` | `q < 0.0` | — | — | `ShortCabinet`: open `[0.10, 0.16]`, close `[−0.005, 0.0]` |
//! | `short_fridge` | `q > 2.0` | `q < 0.0` | — | — | `ShortFridge`: open `[2.0, 2.7]`, close `[−0.005, 0.0]` |
//! | `flat_stove` | — | — | `q >= 0.5` | `q < 0.0` | `FlatStove`: turn-on `[0.5, 2.1]`, turn-off `[−0.005, 0.0]` |
//!
//! Cabinet drawers are slide joints where negative is open; the microwave door is a hinge
//! where negative is open; the stove knob is a hinge. Other LIBERO articulated classes
//! (`SlideCabinet`, `Window`, `Faucet`, `BasinFaucet`) define no thresholds at all; LIBERO
//! raises `NotImplementedError`/`AttributeError` for them, and so does this port (as a typed
//! error). Note the gaps LIBERO leaves: a drawer at `q = −0.1` is neither open nor closed, and
//! a stove knob at `q = 0.0` is neither on nor off.

/// A test LIBERO applies to one joint value `q`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JointTest {
    /// `q < limit`.
    Below(f64),
    /// `q > limit`.
    Above(f64),
    /// `q >= limit`.
    AtLeast(f64),
}

impl JointTest {
    /// Whether `q` passes.
    pub fn holds(self, q: f64) -> bool {
        match self {
            Self::Below(limit) => q < limit,
            Self::Above(limit) => q > limit,
            Self::AtLeast(limit) => q >= limit,
        }
    }
}

/// The four joint predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointPredicate {
    /// `Open`: any joint open.
    Open,
    /// `Close`: all joints closed.
    Close,
    /// `TurnOn`: any joint on.
    TurnOn,
    /// `TurnOff`: all joints off.
    TurnOff,
}

impl JointPredicate {
    /// `true` for `Open`/`TurnOn` (any joint suffices), `false` for `Close`/`TurnOff` (all
    /// joints must pass).
    pub fn any(self) -> bool {
        matches!(self, Self::Open | Self::TurnOn)
    }

    /// The BDDL name, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
            Self::TurnOn => "turnon",
            Self::TurnOff => "turnoff",
        }
    }
}

/// The thresholds of one articulated category; `None` where LIBERO's class has no method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Articulation {
    /// BDDL category, e.g. `wooden_cabinet`.
    pub category: &'static str,
    /// `is_open`.
    pub open: Option<JointTest>,
    /// `is_close`.
    pub close: Option<JointTest>,
    /// `turn_on`.
    pub turn_on: Option<JointTest>,
    /// `turn_off`.
    pub turn_off: Option<JointTest>,
}

impl Articulation {
    /// The test for `predicate`, if this category defines one.
    pub fn test(&self, predicate: JointPredicate) -> Option<JointTest> {
        match predicate {
            JointPredicate::Open => self.open,
            JointPredicate::Close => self.close,
            JointPredicate::TurnOn => self.turn_on,
            JointPredicate::TurnOff => self.turn_off,
        }
    }
}

const fn cabinet(category: &'static str, open: JointTest, close: JointTest) -> Articulation {
    Articulation {
        category,
        open: Some(open),
        close: Some(close),
        turn_on: None,
        turn_off: None,
    }
}

/// Every LIBERO category with joint thresholds (see the module docs for the sources).
pub const ARTICULATIONS: [Articulation; 6] = [
    // WoodenCabinet: `qpos < max([-0.16, -0.14])`, `qpos > min([0.0, 0.005])`.
    cabinet(
        "wooden_cabinet",
        JointTest::Below(-0.14),
        JointTest::Above(0.0),
    ),
    // WhiteCabinet: same ranges as WoodenCabinet.
    cabinet(
        "white_cabinet",
        JointTest::Below(-0.14),
        JointTest::Above(0.0),
    ),
    // Microwave: `qpos < max([-2.094, -1.3])`, `qpos > min([-0.005, 0.0])`.
    cabinet(
        "microwave",
        JointTest::Below(-1.3),
        JointTest::Above(-0.005),
    ),
    // ShortCabinet: `qpos > min([0.10, 0.16])`, `qpos < max([-0.005, 0.0])`.
    cabinet(
        "short_cabinet",
        JointTest::Above(0.10),
        JointTest::Below(0.0),
    ),
    // ShortFridge: `qpos > min([2.0, 2.7])`, `qpos < max([-0.005, 0.0])`.
    cabinet("short_fridge", JointTest::Above(2.0), JointTest::Below(0.0)),
    // FlatStove: `qpos >= min([0.5, 2.1])`, `qpos < max([-0.005, 0.0])`.
    Articulation {
        category: "flat_stove",
        open: None,
        close: None,
        turn_on: Some(JointTest::AtLeast(0.5)),
        turn_off: Some(JointTest::Below(0.0)),
    },
];

/// The thresholds of BDDL category `category`, if LIBERO defines any.
pub fn articulation(category: &str) -> Option<&'static Articulation> {
    ARTICULATIONS.iter().find(|a| a.category == category)
}

#[cfg(test)]
mod tests {
    use super::{JointPredicate as P, articulation};

    /// `(category, predicate, q just passing, q just failing)` for every threshold.
    const EDGES: [(&str, P, f64, f64); 14] = [
        ("wooden_cabinet", P::Open, -0.140_001, -0.14),
        ("wooden_cabinet", P::Close, 0.000_001, 0.0),
        ("white_cabinet", P::Open, -0.140_001, -0.14),
        ("white_cabinet", P::Close, 0.000_001, 0.0),
        ("microwave", P::Open, -1.300_001, -1.3),
        ("microwave", P::Close, -0.004_999, -0.005),
        ("short_cabinet", P::Open, 0.100_001, 0.10),
        ("short_cabinet", P::Close, -0.000_001, 0.0),
        ("short_fridge", P::Open, 2.000_001, 2.0),
        ("short_fridge", P::Close, -0.000_001, 0.0),
        ("flat_stove", P::TurnOn, 0.5, 0.499_999),
        ("flat_stove", P::TurnOff, -0.000_001, 0.0),
        ("flat_stove", P::TurnOn, 2.5, 0.0),
        ("flat_stove", P::TurnOff, -0.5, 0.5),
    ];

    #[test]
    fn thresholds_on_both_sides() {
        for (category, predicate, pass, fail) in EDGES {
            let test = articulation(category)
                .and_then(|a| a.test(predicate))
                .unwrap();
            assert!(test.holds(pass), "{category} {predicate:?} at {pass}");
            assert!(!test.holds(fail), "{category} {predicate:?} at {fail}");
        }
    }

    #[test]
    fn categories_without_a_method_have_no_test() {
        assert!(articulation("flat_stove").unwrap().open.is_none());
        assert!(articulation("microwave").unwrap().turn_on.is_none());
        assert!(articulation("faucet").is_none());
        assert!(articulation("basket").is_none());
        assert!(P::Open.any() && P::TurnOn.any() && !P::Close.any() && !P::TurnOff.any());
    }
}
