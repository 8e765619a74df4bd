//! Objects of the SimplerEnv-style suites (`simpler_widowx`, `simpler_google`; see
//! `../shared/docs/libero-protocol.md` §3 and §4(e)): SimplerEnv's Bridge objects (spoon,
//! towel, carrot, green and yellow cubes, eggplant) and Fractal objects (coke can, apple),
//! authored from MuJoCo primitives — not SimplerEnv's meshes.
//!
//! Sizes follow the arms' grippers rather than the 2F-85's: the WidowX-like pads open to
//! 50 mm and reach 12 mm past the tool point (so flat things are gripped with the tool point
//! ≥ 14 mm above the table), the Google-like pads open to 90 mm. Long things (spoon, carrot,
//! eggplant) collide as boxes with a flat bottom so they cannot roll; their round look is a
//! visual-only capsule (`contype="0" conaffinity="0"`). The towel is flat and not graspable,
//! with the region site `<instance>_top_region` for `(On x towel_1_top_region)`.

use super::{Body, CategoryInfo, Grasp, Kind, Recipe};

/// The fingers close along the body's y axis (across a long object lying along x).
const ACROSS_Y: Option<[f64; 2]> = Some([0.0, 1.0]);
/// The fingers close along the body's x axis.
const ALONG_X: Option<[f64; 2]> = Some([1.0, 0.0]);

const fn object(name: &'static str, description: &'static str, body: Body) -> Recipe {
    Recipe {
        info: CategoryInfo {
            name,
            kind: Kind::Object,
            description,
        },
        body,
        rgba: [1.0; 4],
        mass_kg: 0.05,
        footprint_radius_m: 0.0,
        bottom_offset_m: 0.0,
        top_offset_m: 0.0,
        grasp: None,
        regions: &[],
        parts: &[],
    }
}

/// A 3 cm cube, origin at its centre, gripped across x at its centre.
const fn cube(name: &'static str, description: &'static str, rgba: [f32; 4]) -> Recipe {
    Recipe {
        rgba,
        mass_kg: 0.03,
        footprint_radius_m: 0.022,
        bottom_offset_m: 0.015,
        top_offset_m: 0.015,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.0],
            close_axis_body: ALONG_X,
            width_m: 0.03,
            height_m: 0.03,
        }),
        ..object(name, description, Body::Box([0.015; 3]))
    }
}

/// Spoon: a 22 × 16 mm handle along −x and a bowl along +x; origin at the handle's centre
/// height.
const SPOON_XML: &str = r#"<geom name="{name}_handle" type="box" size="0.05 0.011 0.008" pos="-0.025 0 0" mass="0.03" rgba=".78 .8 .84 1" friction="1.5 0.01 0.001"/>
<geom name="{name}_bowl" type="box" size="0.022 0.018 0.006" pos="0.047 0 -0.002" mass="0.02" rgba=".78 .8 .84 1" friction="1.5 0.01 0.001"/>
<geom type="ellipsoid" size="0.026 0.02 0.007" pos="0.047 0 -0.001" contype="0" conaffinity="0" mass="0" rgba=".85 .87 .9 1"/>"#;

/// Towel: a flat 150 × 150 × 6 mm cloth, origin at its centre; the region sits on its top.
const TOWEL_XML: &str = r#"<geom name="{name}_cloth" type="box" size="0.075 0.075 0.003" mass="0.05" rgba=".2 .35 .85 1" friction="1.5 0.01 0.001"/>
<site name="{name}_top_region" type="box" pos="0 0 0.004" size="0.065 0.065 0.001" rgba="0 1 0 0.2" group="4"/>"#;

/// Carrot: a 100 × 24 × 24 mm box body with a round orange look and green leaves at −x.
const CARROT_XML: &str = r#"<geom name="{name}_body" type="box" size="0.05 0.012 0.012" mass="0.05" rgba="1 .45 .05 1" friction="1.5 0.01 0.001"/>
<geom type="capsule" size="0.0135 0.045" euler="0 1.5708 0" contype="0" conaffinity="0" mass="0" rgba="1 .45 .05 1"/>
<geom type="box" size="0.015 0.008 0.004" pos="-0.065 0 0.002" contype="0" conaffinity="0" mass="0" rgba=".2 .7 .15 1"/>"#;

/// Eggplant: a 110 × 34 × 34 mm box body with a round purple look and a green stem at −x.
const EGGPLANT_XML: &str = r#"<geom name="{name}_body" type="box" size="0.055 0.017 0.017" mass="0.08" rgba=".35 .1 .45 1" friction="1.5 0.01 0.001"/>
<geom type="capsule" size="0.0185 0.045" euler="0 1.5708 0" contype="0" conaffinity="0" mass="0" rgba=".35 .1 .45 1"/>
<geom type="cylinder" size="0.006 0.01" pos="-0.068 0 0.004" euler="0 1.5708 0" contype="0" conaffinity="0" mass="0" rgba=".2 .5 .15 1"/>"#;

/// Coke can: Ø 66 × 122 mm, red with a silver lid, origin at its centre.
const COKE_CAN_XML: &str = r#"<geom name="{name}_body" type="cylinder" size="0.033 0.061" mass="0.1" rgba=".8 .05 .08 1" friction="1.5 0.01 0.001"/>
<geom type="cylinder" size="0.03 0.002" pos="0 0 0.0605" contype="0" conaffinity="0" mass="0" rgba=".8 .8 .82 1"/>
<geom type="cylinder" size="0.0335 0.008" pos="0 0 0.01" contype="0" conaffinity="0" mass="0" rgba=".95 .95 .95 1"/>"#;

/// Apple: a Ø 70 mm sphere on a flat 40 mm foot (so it does not roll), origin at its centre.
const APPLE_XML: &str = r#"<geom name="{name}_fruit" type="sphere" size="0.035" mass="0.12" rgba=".55 .85 .2 1" friction="1.5 0.01 0.001"/>
<geom name="{name}_foot" type="cylinder" size="0.02 0.002" pos="0 0 -0.033" mass="0.01" rgba=".55 .85 .2 1" friction="1.5 0.01 0.001"/>
<geom type="cylinder" size="0.003 0.008" pos="0 0 0.04" contype="0" conaffinity="0" mass="0" rgba=".4 .25 .1 1"/>"#;

/// Every SimplerEnv-style object category.
pub(super) const SIMPLER: [Recipe; 8] = [
    Recipe {
        mass_kg: 0.05,
        footprint_radius_m: 0.078,
        bottom_offset_m: 0.008,
        top_offset_m: 0.008,
        grasp: Some(Grasp {
            center_body_m: [-0.035, 0.0, 0.0],
            close_axis_body: ACROSS_Y,
            width_m: 0.022,
            height_m: 0.016,
        }),
        ..object(
            "spoon",
            "a silver spoon 142 mm long: a 22 x 16 mm handle and a 44 x 36 mm bowl",
            Body::Mjcf(SPOON_XML),
        )
    },
    Recipe {
        mass_kg: 0.05,
        footprint_radius_m: 0.106,
        bottom_offset_m: 0.003,
        top_offset_m: 0.003,
        regions: &["top_region"],
        ..object(
            "towel",
            "a flat blue towel 150 x 150 x 6 mm (not picked; things go on it)",
            Body::Mjcf(TOWEL_XML),
        )
    },
    Recipe {
        mass_kg: 0.05,
        footprint_radius_m: 0.08,
        bottom_offset_m: 0.012,
        top_offset_m: 0.012,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.0],
            close_axis_body: ACROSS_Y,
            width_m: 0.024,
            height_m: 0.024,
        }),
        ..object(
            "carrot",
            "an orange carrot 130 mm long, 27 mm thick, green leaves",
            Body::Mjcf(CARROT_XML),
        )
    },
    cube("green_cube", "a green 30 mm cube", [0.1, 0.75, 0.2, 1.0]),
    cube("yellow_cube", "a yellow 30 mm cube", [0.95, 0.85, 0.1, 1.0]),
    Recipe {
        mass_kg: 0.08,
        footprint_radius_m: 0.08,
        bottom_offset_m: 0.017,
        top_offset_m: 0.017,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.0],
            close_axis_body: ACROSS_Y,
            width_m: 0.034,
            height_m: 0.034,
        }),
        ..object(
            "eggplant",
            "a purple eggplant 130 mm long, 37 mm thick, green stem",
            Body::Mjcf(EGGPLANT_XML),
        )
    },
    Recipe {
        mass_kg: 0.1,
        footprint_radius_m: 0.034,
        bottom_offset_m: 0.061,
        top_offset_m: 0.061,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.01],
            close_axis_body: None,
            width_m: 0.066,
            height_m: 0.122,
        }),
        ..object(
            "coke_can",
            "a red can with a white band and a silver lid, 66 mm across, 122 mm tall",
            Body::Mjcf(COKE_CAN_XML),
        )
    },
    Recipe {
        mass_kg: 0.13,
        footprint_radius_m: 0.036,
        bottom_offset_m: 0.035,
        top_offset_m: 0.035,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.0],
            close_axis_body: None,
            width_m: 0.07,
            height_m: 0.07,
        }),
        ..object(
            "apple",
            "a light green apple, 70 mm across, brown stalk",
            Body::Mjcf(APPLE_XML),
        )
    },
];

/// Whether `category` is one of the SimplerEnv-style objects (sized for the WidowX-like and
/// Google-like grippers, not the 2F-85).
pub fn is_simpler(category: &str) -> bool {
    SIMPLER.iter().any(|r| r.info.name == category)
}
