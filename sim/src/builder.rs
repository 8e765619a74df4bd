//! Compose scenes in code: a robot (the Panda by default, see [`crate::robot`]), a table,
//! objects from primitive geoms, sites (task regions) and cameras, with LIBERO's naming
//! conventions so task suites can query them: an object `x` is body `x_main` with free joint
//! `x_joint0` and geoms `x_g0…`; a region `r` is site `r`; the table top is `main_table` with
//! geom `main_table_top`.

use std::fmt::Write as _;

use crate::error::{Result, SimError};
use crate::robot::RobotKind;

/// Geometry of an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Box with half extents (m).
    Box {
        /// Half extents x, y, z (m).
        half_extents_m: [f64; 3],
    },
    /// Upright cylinder.
    Cylinder {
        /// Radius (m).
        radius_m: f64,
        /// Half height (m).
        half_height_m: f64,
    },
    /// Sphere.
    Sphere {
        /// Radius (m).
        radius_m: f64,
    },
    /// Our own MJCF: the children of the object's `<body>` (geoms, sites, child bodies,
    /// joints), e.g. from a file in `sim/objects/`. Geom names should start with `<name>_`.
    /// The object's `mass_kg` and `rgba` do not apply: masses and colours come from the MJCF.
    Mjcf {
        /// MJCF elements placed inside `<body name="<name>_main">`.
        body_children: String,
    },
}

/// A movable object (free joint) or a fixed one.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSpec {
    /// Instance name (`akita_black_bowl_1`): body `<name>_main`.
    pub name: String,
    /// Geometry.
    pub shape: Shape,
    /// Body position in the world (m).
    pub pos_m: [f64; 3],
    /// Colour.
    pub rgba: [f32; 4],
    /// Mass (kg).
    pub mass_kg: f64,
    /// Movable (free joint `<name>_joint0`) or fixed to the world.
    pub free: bool,
}

/// A named site: a task region on the table or on an object.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSpec {
    /// Site name.
    pub name: String,
    /// Object it belongs to (`None`: the world/table).
    pub parent: Option<String>,
    /// Position relative to the parent body (m).
    pub pos_m: [f64; 3],
    /// Half sizes of the region box (m).
    pub half_size_m: [f64; 3],
}

/// A fixed camera.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraSpec {
    /// Camera name.
    pub name: String,
    /// Position (m).
    pub pos_m: [f64; 3],
    /// MuJoCo `xyaxes`: camera x and y axes in the world frame.
    pub xyaxes: [f64; 6],
    /// Vertical field of view (degrees).
    pub fovy_deg: f64,
}

/// Builds the MJCF of a tabletop scene with a robot at the origin (the WidowX's base sits at
/// z = 0.1, on a table top at that height; the Google-like arm's shoulder sits on a torso
/// rising from the floor to z = 0.85).
#[derive(Debug, Clone, PartialEq)]
pub struct SceneBuilder {
    /// Model name.
    pub name: String,
    /// The robot (its placeholder goes into the template; `EnvConfig::robot` must match).
    pub robot: RobotKind,
    /// Table top centre (m) and half extents (m); the top surface is at `center.z + half.z`.
    pub table: Option<([f64; 3], [f64; 3])>,
    /// Objects.
    pub objects: Vec<ObjectSpec>,
    /// Sites.
    pub sites: Vec<SiteSpec>,
    /// Cameras (the robot's own cameras are always there: the Panda's wrist camera
    /// `handcam_rgb`; see [`crate::robot::RobotSpec::cameras`]).
    pub cameras: Vec<CameraSpec>,
    /// Largest offscreen image side (px).
    pub offscreen_px: u32,
}

fn fmt3(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_finite(what: &str, v: &[f64]) -> Result<()> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(SimError::Config {
            field: "scene",
            reason: format!("{what} has non-finite values {v:?}"),
        })
    }
}

impl SceneBuilder {
    /// An empty scene (Panda only) called `name`.
    pub fn new(name: &str) -> Self {
        Self::with_robot(name, RobotKind::Panda)
    }

    /// An empty scene with `robot` only, called `name`.
    pub fn with_robot(name: &str, robot: RobotKind) -> Self {
        Self {
            name: name.to_owned(),
            robot,
            table: None,
            objects: vec![],
            sites: vec![],
            cameras: vec![],
            offscreen_px: 256,
        }
    }

    fn validate(&self) -> Result<()> {
        let mut names = std::collections::BTreeSet::new();
        for n in self
            .objects
            .iter()
            .map(|o| &o.name)
            .chain(self.sites.iter().map(|s| &s.name))
            .chain(self.cameras.iter().map(|c| &c.name))
        {
            let ok = !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok || !names.insert(n.clone()) {
                return Err(SimError::Config {
                    field: "scene",
                    reason: format!("name {n:?} is empty, not [A-Za-z0-9_] or used twice"),
                });
            }
        }
        for o in &self.objects {
            check_finite(&o.name, &o.pos_m)?;
            if !(o.mass_kg > 0.0 && o.mass_kg.is_finite()) {
                return Err(SimError::Config {
                    field: "scene",
                    reason: format!("{}: mass must be > 0", o.name),
                });
            }
        }
        for s in &self.sites {
            check_finite(&s.name, &s.pos_m)?;
            if let Some(p) = &s.parent
                && !self.objects.iter().any(|o| &o.name == p)
            {
                return Err(SimError::UnknownName {
                    kind: "site parent object",
                    name: p.clone(),
                    known: String::new(),
                });
            }
        }
        Ok(())
    }

    fn object_xml(&self, o: &ObjectSpec, out: &mut String) {
        let geom = match &o.shape {
            Shape::Mjcf { .. } => String::new(),
            Shape::Box { half_extents_m } => {
                format!(r#"type="box" size="{}""#, fmt3(half_extents_m))
            }
            Shape::Cylinder {
                radius_m,
                half_height_m,
            } => format!(r#"type="cylinder" size="{radius_m} {half_height_m}""#),
            Shape::Sphere { radius_m } => format!(r#"type="sphere" size="{radius_m}""#),
        };
        let rgba = o
            .rgba
            .iter()
            .map(|c| format!("{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            r#"    <body name="{n}_main" pos="{p}">"#,
            n = o.name,
            p = fmt3(&o.pos_m)
        );
        if o.free {
            let _ = writeln!(out, r#"      <freejoint name="{}_joint0"/>"#, o.name);
        }
        if let Shape::Mjcf { body_children } = &o.shape {
            let _ = writeln!(out, "      {}", body_children.replace("{name}", &o.name));
        } else {
            let _ = writeln!(
                out,
                r#"      <geom name="{}_g0" {geom} mass="{}" rgba="{rgba}" friction="1.5 0.01 0.001"/>"#,
                o.name, o.mass_kg
            );
        }
        for s in self
            .sites
            .iter()
            .filter(|s| s.parent.as_deref() == Some(o.name.as_str()))
        {
            let _ = writeln!(
                out,
                r#"      <site name="{}" type="box" pos="{}" size="{}" rgba="0 1 0 0.2" group="4"/>"#,
                s.name,
                fmt3(&s.pos_m),
                fmt3(&s.half_size_m)
            );
        }
        let _ = writeln!(out, "    </body>");
    }

    /// The MJCF template (the robot's placeholder, e.g. `{PANDA}`, and `{ASSETS}`, as the
    /// built-in scenes).
    pub fn to_mjcf(&self) -> Result<String> {
        self.validate()?;
        let mut w = String::new();
        let px = self.offscreen_px;
        let _ = writeln!(
            w,
            r#"<mujoco model="{}">
  <compiler angle="radian" autolimits="true" meshdir="{{ASSETS}}"/>
  <include file="{robot}"/>
  <option timestep="0.002" impratio="20" cone="elliptic" density="1.2" viscosity="2e-5"/>
  <visual><global offwidth="{px}" offheight="{px}"/><quality shadowsize="0" offsamples="0"/></visual>
  <worldbody>
    <light name="top" pos="0.5 0 2.5" dir="0 0 -1" castshadow="false" diffuse=".7 .7 .7"/>
    <geom name="floor" type="plane" size="3 3 0.01" rgba=".25 .27 .3 1"/>"#,
            self.name,
            robot = self.robot.spec().placeholder
        );
        if let Some((c, h)) = &self.table {
            check_finite("table", c)?;
            let _ = writeln!(
                w,
                r#"    <body name="main_table" pos="{}"><geom name="main_table_top" type="box" size="{}" rgba=".55 .4 .25 1"/></body>"#,
                fmt3(c),
                fmt3(h)
            );
        }
        for s in self.sites.iter().filter(|s| s.parent.is_none()) {
            let _ = writeln!(
                w,
                r#"    <site name="{}" type="box" pos="{}" size="{}" rgba="0 1 0 0.2" group="4"/>"#,
                s.name,
                fmt3(&s.pos_m),
                fmt3(&s.half_size_m)
            );
        }
        for c in &self.cameras {
            check_finite(&c.name, &c.pos_m)?;
            let _ = writeln!(
                w,
                r#"    <camera name="{}" pos="{}" xyaxes="{}" fovy="{}"/>"#,
                c.name,
                fmt3(&c.pos_m),
                fmt3(&c.xyaxes),
                c.fovy_deg
            );
        }
        for o in &self.objects {
            self.object_xml(o, &mut w);
        }
        w.push_str("  </worldbody>\n</mujoco>\n");
        Ok(w)
    }
}
