//! Objects: free bodies. Boxes and cans are primitives centred on the origin; the rest are
//! MJCF files in `sim/objects/`. Every graspable object is ≤ 70 mm across its grasp axis and
//! ≥ 45 mm tall; grasp points sit 15–20 mm under the top (bottles: on the neck) so the
//! 2F-85's fingertips close on the object without the palm touching it.

use super::{Body, CategoryInfo, Grasp, Kind, Recipe};

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
        mass_kg: 0.1,
        footprint_radius_m: 0.0,
        bottom_offset_m: 0.0,
        top_offset_m: 0.0,
        grasp: None,
        regions: &[],
        parts: &[],
    }
}

/// A box standing on its largest face, narrow along x (the grasp axis), origin at its centre;
/// grasped 17.5 mm under the top.
const fn small_box(
    name: &'static str,
    description: &'static str,
    half_extents_m: [f64; 3],
    rgba: [f32; 4],
    mass_kg: f64,
    footprint_radius_m: f64,
) -> Recipe {
    let [hx, _, hz] = half_extents_m;
    Recipe {
        rgba,
        mass_kg,
        footprint_radius_m,
        bottom_offset_m: hz,
        top_offset_m: hz,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, hz - 0.0175],
            close_axis_body: ALONG_X,
            width_m: 2.0 * hx,
            height_m: 2.0 * hz,
        }),
        ..object(name, description, Body::Box(half_extents_m))
    }
}

/// An upright can, origin at its centre, grasped across 20 mm under the top.
const fn can(
    name: &'static str,
    description: &'static str,
    radius_m: f64,
    half_height_m: f64,
    rgba: [f32; 4],
    mass_kg: f64,
) -> Recipe {
    Recipe {
        rgba,
        mass_kg,
        footprint_radius_m: radius_m,
        bottom_offset_m: half_height_m,
        top_offset_m: half_height_m,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, half_height_m - 0.02],
            close_axis_body: None,
            width_m: 2.0 * radius_m,
            height_m: 2.0 * half_height_m,
        }),
        ..object(name, description, Body::Cylinder(radius_m, half_height_m))
    }
}

/// A bottle from `sim/objects/`: origin 70 mm above the bottom, grasped on its 28 mm neck
/// (centre `neck_z`, body frame).
const fn bottle(
    name: &'static str,
    description: &'static str,
    xml: &'static str,
    radius_m: f64,
    height_m: f64,
    neck_z: f64,
    mass_kg: f64,
) -> Recipe {
    Recipe {
        mass_kg,
        footprint_radius_m: radius_m,
        bottom_offset_m: 0.07,
        top_offset_m: height_m - 0.07,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, neck_z],
            close_axis_body: None,
            width_m: 0.028,
            height_m,
        }),
        ..object(name, description, Body::Mjcf(xml))
    }
}

/// A mug from `sim/objects/`: body Ø 60 mm × 80 mm, origin at mid-height, handle on +y, so
/// grasped across x 20 mm under the rim.
const fn mug(name: &'static str, description: &'static str, xml: &'static str) -> Recipe {
    Recipe {
        mass_kg: 0.15,
        footprint_radius_m: 0.054,
        bottom_offset_m: 0.04,
        top_offset_m: 0.04,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.02],
            close_axis_body: ALONG_X,
            width_m: 0.06,
            height_m: 0.08,
        }),
        ..object(name, description, Body::Mjcf(xml))
    }
}

/// A carton from `sim/objects/`: 60 × 60 × 120 mm plus a gable ridge along y to 150 mm,
/// origin 70 mm above the bottom; grasped across x 20 mm under the body's top edge.
const fn carton(name: &'static str, description: &'static str, xml: &'static str) -> Recipe {
    Recipe {
        mass_kg: 0.17,
        footprint_radius_m: 0.043,
        bottom_offset_m: 0.07,
        top_offset_m: 0.08,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.03],
            close_axis_body: ALONG_X,
            width_m: 0.06,
            height_m: 0.15,
        }),
        ..object(name, description, Body::Mjcf(xml))
    }
}

/// Every object category.
pub(super) const OBJECTS: [Recipe; 20] = [
    Recipe {
        mass_kg: 0.4,
        footprint_radius_m: 0.13,
        // The inner floor (walls reach 0.085).
        top_offset_m: 0.01,
        regions: &["contain_region"],
        ..object(
            "basket",
            "a brown open box 160 x 200 x 85 mm (floor and four walls); 0.4 kg so it does not tip",
            Body::Mjcf(include_str!("../../../sim/objects/basket.xml")),
        )
    },
    Recipe {
        mass_kg: 0.14,
        footprint_radius_m: 0.035,
        bottom_offset_m: 0.021,
        // The inner floor (the rim is at 0.034): what rests in the bowl sits above its origin.
        top_offset_m: 0.001,
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.019],
            close_axis_body: None,
            width_m: 0.068,
            height_m: 0.055,
        }),
        ..object(
            "akita_black_bowl",
            "a black bowl, 66 mm across, 55 mm tall on a foot",
            Body::Mjcf(include_str!("../../../sim/objects/akita_black_bowl.xml")),
        )
    },
    Recipe {
        rgba: [0.7, 0.78, 0.92, 1.0],
        footprint_radius_m: 0.07,
        bottom_offset_m: 0.0075,
        top_offset_m: 0.0075,
        ..object(
            "plate",
            "a pale blue flat disc, 140 mm across, 15 mm thick (pushed, not picked)",
            Body::Cylinder(0.07, 0.0075),
        )
    },
    can(
        "glazed_rim_porcelain_ramekin",
        "a small white cylinder, 60 mm across, 50 mm tall",
        0.03,
        0.025,
        [1.0, 1.0, 1.0, 1.0],
        0.1,
    ),
    small_box(
        "cookies",
        "a navy blue flat box 60 x 120 x 45 mm",
        [0.03, 0.06, 0.0225],
        [0.1, 0.15, 0.75, 1.0],
        0.1,
        0.068,
    ),
    can(
        "alphabet_soup",
        "a red can, 66 mm across, 85 mm tall",
        0.033,
        0.0425,
        [0.9, 0.1, 0.1, 1.0],
        0.15,
    ),
    can(
        "tomato_sauce",
        "a crimson can, 60 mm across, 70 mm tall",
        0.03,
        0.035,
        [0.75, 0.0, 0.3, 1.0],
        0.12,
    ),
    small_box(
        "cream_cheese",
        "a cyan box 55 x 75 x 45 mm",
        [0.0275, 0.0375, 0.0225],
        [0.15, 0.75, 0.9, 1.0],
        0.06,
        0.047,
    ),
    small_box(
        "butter",
        "a yellow box 50 x 100 x 45 mm",
        [0.025, 0.05, 0.0225],
        [1.0, 0.85, 0.1, 1.0],
        0.1,
        0.056,
    ),
    small_box(
        "chocolate_pudding",
        "a brown box 60 x 70 x 50 mm",
        [0.03, 0.035, 0.025],
        [0.45, 0.22, 0.08, 1.0],
        0.08,
        0.047,
    ),
    bottle(
        "salad_dressing",
        "a lime green bottle, 60 mm across, 157 mm tall, green label, white cap",
        include_str!("../../../sim/objects/salad_dressing.xml"),
        0.03,
        0.157,
        0.057,
        0.2,
    ),
    bottle(
        "bbq_sauce",
        "a purple-brown bottle, 60 mm across, 147 mm tall, orange label, black cap",
        include_str!("../../../sim/objects/bbq_sauce.xml"),
        0.03,
        0.147,
        0.047,
        0.2,
    ),
    bottle(
        "ketchup",
        "a red bottle, 60 mm across, 157 mm tall, white label and cap",
        include_str!("../../../sim/objects/ketchup.xml"),
        0.03,
        0.157,
        0.057,
        0.2,
    ),
    carton(
        "milk",
        "a white carton with a blue top, 60 x 60 x 150 mm",
        include_str!("../../../sim/objects/milk.xml"),
    ),
    carton(
        "orange_juice",
        "an orange carton with a green top, 60 x 60 x 150 mm",
        include_str!("../../../sim/objects/orange_juice.xml"),
    ),
    // Grasped low on the neck (its bottom is at 0.062), so a bottle lifted onto the cabinet
    // keeps the gripper within the Panda's reach.
    bottle(
        "wine_bottle",
        "a dark green bottle, 68 mm across, 197 mm tall, cream label, dark red capsule",
        include_str!("../../../sim/objects/wine_bottle.xml"),
        0.034,
        0.197,
        0.072,
        0.3,
    ),
    Recipe {
        mass_kg: 0.215,
        footprint_radius_m: 0.057,
        bottom_offset_m: 0.05,
        top_offset_m: 0.077,
        // Grasped mid-way up the upper chamber (not just under the lid), nearer the centre
        // of mass, so the pot does not swing about the finger axis when carried.
        grasp: Some(Grasp {
            center_body_m: [0.0, 0.0, 0.03],
            close_axis_body: ALONG_X,
            width_m: 0.06,
            height_m: 0.127,
        }),
        ..object(
            "moka_pot",
            "a steel moka pot, 68 mm across, 127 mm tall, black handle on +y",
            Body::Mjcf(include_str!("../../../sim/objects/moka_pot.xml")),
        )
    },
    mug(
        "porcelain_mug",
        "a cream mug, 60 mm across, 80 mm tall, handle on +y",
        include_str!("../../../sim/objects/porcelain_mug.xml"),
    ),
    mug(
        "white_yellow_mug",
        "a white mug with a yellow band, 60 mm across, 80 mm tall, handle on +y",
        include_str!("../../../sim/objects/white_yellow_mug.xml"),
    ),
    mug(
        "red_coffee_mug",
        "a red mug, 60 mm across, 80 mm tall, handle on +y",
        include_str!("../../../sim/objects/red_coffee_mug.xml"),
    ),
];
