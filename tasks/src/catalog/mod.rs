//! The object and fixture categories our LIBERO-style scenes are made of, authored from
//! MuJoCo primitives and our own MJCF (`sim/objects/<category>.xml`), no third-party assets.
//!
//! [`build`] turns a BDDL instance (`akita_black_bowl_1 - akita_black_bowl`) into an
//! [`ObjectSpec`] for [`ddvla_sim::builder::SceneBuilder`] with LIBERO's names, so the goal
//! predicates of [`crate::predicates`] read it as they read LIBERO's scenes
//! (`../shared/docs/libero-protocol.md` §1.2–1.3, §4(b) tier B):
//! - root body `<instance>_main`; objects ([`Kind::Object`]) have the free joint
//!   `<instance>_joint0`, fixtures ([`Kind::Fixture`]) are fixed to the world;
//! - region sites `<instance>_<region>` (`wooden_cabinet_1_top_region`,
//!   `flat_stove_1_cook_region`, `basket_1_contain_region`, …), listed in
//!   [`CatalogObject::regions`];
//! - articulations with LIBERO's sign conventions ([`Part`]): drawer slides
//!   `<instance>_<drawer>_level` along +x, negative = open (`Open`: q < −0.14, `Close`: q > 0);
//!   the stove knob hinge `<instance>_knob_joint` (`TurnOn`: q ≥ 0.5, `TurnOff`: q < 0).
//!
//! Conventions: fixtures face the robot (their front toward −x) and have their origin at the
//! bottom centre. An object's origin is at most 7 cm above its lowest point (so `On(x,
//! region)`, which wants `p(x)` less than 10 cm above the region's top, holds for tall
//! bottles too) and at least 2 cm for things that hold other things (`On(x, bowl)` wants
//! `p(bowl).z <= p(x).z`). Every graspable object is at most 70 mm across its grasp axis
//! (the Robotiq 2F-85 opens 85 mm) and at least 45 mm tall. Colours are saturated and
//! distinct so a policy can tell the categories apart in 128×128 images.
//!
//! ```
//! use ddvla_tasks::catalog::{self, Kind};
//!
//! let bowl = catalog::build("akita_black_bowl_1", "akita_black_bowl", [0.5, 0.1, 0.121])?;
//! assert_eq!(bowl.object.name, "akita_black_bowl_1");
//! assert!(bowl.object.free && bowl.grasp.is_some());
//! let cabinet = catalog::build("wooden_cabinet_1", "wooden_cabinet", [0.7, 0.3, 0.1])?;
//! assert!(cabinet.regions.contains(&"wooden_cabinet_1_top_region".to_owned()));
//! assert_eq!(catalog::categories().iter().filter(|c| c.kind == Kind::Fixture).count(), 3);
//! # Ok::<(), catalog::CatalogError>(())
//! ```

mod error;
mod fixtures;
mod objects;
mod simpler;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use ddvla_sim::builder::{ObjectSpec, Shape, SiteSpec};

pub use error::CatalogError;
pub use simpler::is_simpler;

/// Movable or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A free body (joint `<instance>_joint0`).
    Object,
    /// Fixed to the world.
    Fixture,
}

/// One authored category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryInfo {
    /// LIBERO's category name, e.g. `akita_black_bowl`.
    pub name: &'static str,
    /// Movable or fixed.
    pub kind: Kind,
    /// What it looks like (size, colours), for docs and scene descriptions.
    pub description: &'static str,
}

/// A top-down pinch grasp for scripted experts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grasp {
    /// Grasp point in the body frame (m): where the fingertips' midpoint should close.
    pub center_body_m: [f64; 3],
    /// Horizontal direction in the body frame the fingers close along; `None`: rotationally
    /// symmetric (any direction).
    pub close_axis_body: Option<[f64; 2]>,
    /// Object width along that axis at the grasp point (m), ≤ 0.07.
    pub width_m: f64,
    /// Total height of the object (m), so the expert lifts it clear.
    pub height_m: f64,
}

/// What an articulated part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// A slide joint; pull the handle toward −x (the robot) to open.
    Drawer,
    /// A hinge about z; push the lever tip sideways (toward −y at the off stop) to turn on.
    Knob,
}

/// An articulated part of a fixture, for experts and init states.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Drawer or knob.
    pub kind: PartKind,
    /// `top`, `middle`, `bottom` or `knob`.
    pub name: String,
    /// MuJoCo joint name, e.g. `wooden_cabinet_1_top_level`.
    pub joint: String,
    /// MuJoCo site the expert grabs or pushes (drawer handle centre, knob lever tip).
    pub handle_site: String,
    /// Region site that moves with the part (a drawer's inside).
    pub region: Option<String>,
    /// Joint value when closed / off (the rest value at build time).
    pub closed_qpos: f64,
    /// Joint value when open / on.
    pub open_qpos: f64,
}

/// One instance, ready for a [`ddvla_sim::builder::SceneBuilder`].
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogObject {
    /// The body: name = instance, root body `<instance>_main`, free for objects.
    pub object: ObjectSpec,
    /// Extra sites for primitive objects (parent = instance); sites inside MJCF files are not
    /// listed. Add them to the builder's `sites`.
    pub sites: Vec<SiteSpec>,
    /// Every region site this instance provides, e.g. `wooden_cabinet_1_top_region`.
    pub regions: Vec<String>,
    /// Horizontal radius around the origin enclosing the object (m).
    pub footprint_radius_m: f64,
    /// Height of the origin above the object's lowest point (m): rest it at `surface_z + this`.
    pub bottom_offset_m: f64,
    /// Height of its top surface above the origin (m).
    pub top_offset_m: f64,
    /// How to pick it up; `None`: not meant to be picked (plates are pushed; fixtures).
    pub grasp: Option<Grasp>,
    /// Articulated parts (drawers, knob).
    pub parts: Vec<Part>,
}

/// The body of a category.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Body {
    /// A box centred on the origin.
    Box([f64; 3]),
    /// An upright cylinder centred on the origin: radius, half height.
    Cylinder(f64, f64),
    /// An MJCF file's text (`{name}` placeholders).
    Mjcf(&'static str),
}

/// An articulated part, with names relative to the instance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PartRecipe {
    kind: PartKind,
    name: &'static str,
    joint: &'static str,
    handle_site: &'static str,
    region: Option<&'static str>,
    closed_qpos: f64,
    open_qpos: f64,
}

/// Everything [`build`] needs about a category.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Recipe {
    info: CategoryInfo,
    body: Body,
    /// Colour of a primitive body (MJCF files carry their own).
    rgba: [f32; 4],
    /// Mass of a primitive body; for MJCF files, the sum of the file's geom masses.
    mass_kg: f64,
    footprint_radius_m: f64,
    bottom_offset_m: f64,
    top_offset_m: f64,
    grasp: Option<Grasp>,
    /// Region names without the `<instance>_` prefix.
    regions: &'static [&'static str],
    parts: &'static [PartRecipe],
}

fn recipes() -> impl Iterator<Item = &'static Recipe> {
    fixtures::FIXTURES
        .iter()
        .chain(objects::OBJECTS.iter())
        .chain(simpler::SIMPLER.iter())
}

static CATEGORIES: LazyLock<Vec<CategoryInfo>> =
    LazyLock::new(|| recipes().map(|r| r.info).collect());

/// Every category we author, in a stable order (fixtures, LIBERO-style objects, then the
/// SimplerEnv-style objects of `simpler.rs`).
pub fn categories() -> &'static [CategoryInfo] {
    &CATEGORIES
}

/// Build instance `instance` (e.g. `akita_black_bowl_1`) of `category` with its origin at
/// `pos_m` (world, m). Rest it on a surface at height `z` with `pos_m[2] = z +
/// bottom_offset_m` (see [`CatalogObject::bottom_offset_m`]).
///
/// # Errors
/// [`CatalogError::UnknownCategory`] (listing the known ones), an instance name MuJoCo cannot
/// use, or a non-finite position.
pub fn build(
    instance: &str,
    category: &str,
    pos_m: [f64; 3],
) -> Result<CatalogObject, CatalogError> {
    let recipe = recipes().find(|r| r.info.name == category).ok_or_else(|| {
        CatalogError::UnknownCategory {
            instance: instance.to_owned(),
            category: category.to_owned(),
            known: categories()
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", "),
        }
    })?;
    if instance.is_empty()
        || !instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(CatalogError::InvalidInstance {
            instance: instance.to_owned(),
            category: category.to_owned(),
        });
    }
    if !pos_m.iter().all(|v| v.is_finite()) {
        return Err(CatalogError::NonFinitePosition {
            instance: instance.to_owned(),
            pos_m,
        });
    }
    let shape = match recipe.body {
        Body::Box(half_extents_m) => Shape::Box { half_extents_m },
        Body::Cylinder(radius_m, half_height_m) => Shape::Cylinder {
            radius_m,
            half_height_m,
        },
        Body::Mjcf(xml) => Shape::Mjcf {
            body_children: xml.to_owned(),
        },
    };
    let named = |suffix: &str| format!("{instance}_{suffix}");
    Ok(CatalogObject {
        object: ObjectSpec {
            name: instance.to_owned(),
            shape,
            pos_m,
            rgba: recipe.rgba,
            mass_kg: recipe.mass_kg,
            free: recipe.info.kind == Kind::Object,
        },
        sites: vec![],
        regions: recipe.regions.iter().map(|r| named(r)).collect(),
        footprint_radius_m: recipe.footprint_radius_m,
        bottom_offset_m: recipe.bottom_offset_m,
        top_offset_m: recipe.top_offset_m,
        grasp: recipe.grasp,
        parts: recipe
            .parts
            .iter()
            .map(|p| Part {
                kind: p.kind,
                name: p.name.to_owned(),
                joint: named(p.joint),
                handle_site: named(p.handle_site),
                region: p.region.map(named),
                closed_qpos: p.closed_qpos,
                open_qpos: p.open_qpos,
            })
            .collect(),
    })
}
