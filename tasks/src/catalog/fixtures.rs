//! Fixtures: fixed to the world, origin at the bottom centre, front toward −x (the robot).

use super::{Body, CategoryInfo, Kind, PartKind, PartRecipe, Recipe};

/// A drawer of the wooden cabinet: LIBERO's `WoodenCabinet` thresholds are `Open`: q < −0.14,
/// `Close`: q > 0.0, so it rests closed at the +0.01 stop and opens to −0.16 (LIBERO's open
/// range is [−0.16, −0.14]).
const fn drawer(
    name: &'static str,
    joint: &'static str,
    handle_site: &'static str,
    region: &'static str,
) -> PartRecipe {
    PartRecipe {
        kind: PartKind::Drawer,
        name,
        joint,
        handle_site,
        region: Some(region),
        closed_qpos: 0.01,
        open_qpos: -0.16,
    }
}

const DRAWERS: [PartRecipe; 3] = [
    drawer("top", "top_level", "top_handle", "top_region"),
    drawer("middle", "middle_level", "middle_handle", "middle_region"),
    drawer("bottom", "bottom_level", "bottom_handle", "bottom_region"),
];

/// The stove knob: off at the −0.05 stop (`TurnOff`: q < 0), on at 0.8 (`TurnOn`: q ≥ 0.5).
const KNOB: [PartRecipe; 1] = [PartRecipe {
    kind: PartKind::Knob,
    name: "knob",
    joint: "knob_joint",
    handle_site: "knob_tip",
    region: None,
    closed_qpos: -0.05,
    open_qpos: 0.8,
}];

const WOOD: [f32; 4] = [0.55, 0.33, 0.16, 1.0];

/// Every fixture category.
pub(super) const FIXTURES: [Recipe; 3] = [
    Recipe {
        info: CategoryInfo {
            name: "wooden_cabinet",
            kind: Kind::Fixture,
            description: "a wooden case 240 x 240 x 260 mm with three drawers (top, middle, \
                          bottom) with metal handle bars 75 mm in front of the panels (top toward \
                          +y, middle and bottom toward -y)",
        },
        body: Body::Mjcf(include_str!("../../../sim/objects/wooden_cabinet.xml")),
        rgba: WOOD,
        mass_kg: 7.0,
        // The case is 0.24 square; the handle bars reach (x, y) = (−0.202, ±0.107) when
        // closed: 75 mm in front of the panels and off-centre, so closed fingers hooked
        // behind the middle drawer's bar pass beside the top one and keep the gripper's 9 cm
        // wide base in front of the cabinet.
        footprint_radius_m: 0.23,
        bottom_offset_m: 0.0,
        top_offset_m: 0.26,
        grasp: None,
        regions: &["top_region", "middle_region", "bottom_region", "top_side"],
        parts: &DRAWERS,
    },
    Recipe {
        info: CategoryInfo {
            name: "flat_stove",
            kind: Kind::Fixture,
            description: "a black flat stove 220 x 280 x 30 mm with a red burner and a white \
                          knob with a yellow lever near the front right",
        },
        body: Body::Mjcf(include_str!("../../../sim/objects/flat_stove.xml")),
        rgba: [0.12, 0.12, 0.13, 1.0],
        mass_kg: 2.2,
        footprint_radius_m: 0.18,
        bottom_offset_m: 0.0,
        // The burner top; the knob lever stands 28 mm above the base (z = 0.058).
        top_offset_m: 0.036,
        grasp: None,
        regions: &["cook_region"],
        parts: &KNOB,
    },
    Recipe {
        info: CategoryInfo {
            name: "wine_rack",
            kind: Kind::Fixture,
            description: "a low wooden wine rack: a 180 x 180 mm board with an 80 mm square \
                          pocket where a bottle stands, two posts and a rail at the back",
        },
        body: Body::Mjcf(include_str!("../../../sim/objects/wine_rack.xml")),
        rgba: WOOD,
        mass_kg: 1.5,
        footprint_radius_m: 0.13,
        bottom_offset_m: 0.0,
        // The pocket floor (the board's top).
        top_offset_m: 0.02,
        grasp: None,
        regions: &["top_region"],
        parts: &[],
    },
];
