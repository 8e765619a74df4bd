//! Invariants of the recipes (physics is checked in `tests/catalog.rs`).

use super::{Body, CatalogError, Kind, build, categories, recipes};

#[test]
fn names_are_unique_and_builds_follow_libero_naming() {
    let mut seen = std::collections::BTreeSet::new();
    for c in categories() {
        assert!(seen.insert(c.name), "{} twice", c.name);
        let inst = format!("{}_1", c.name);
        let o = build(&inst, c.name, [0.1, 0.2, 0.3]).unwrap();
        assert_eq!(o.object.name, inst);
        assert_eq!(o.object.free, c.kind == Kind::Object);
        assert!(
            o.object
                .pos_m
                .iter()
                .zip([0.1, 0.2, 0.3])
                .all(|(a, b)| (a - b).abs() < 1e-15)
        );
        for r in o.regions.iter().chain(o.parts.iter().map(|p| &p.joint)) {
            assert!(r.starts_with(&format!("{inst}_")), "{r}");
        }
        assert!(o.object.mass_kg > 0.0 && !c.description.is_empty());
    }
    assert_eq!(categories().len(), 23 + super::simpler::SIMPLER.len());
}

#[test]
fn graspable_objects_fit_the_gripper() {
    for r in recipes() {
        let name = r.info.name;
        assert!(
            r.footprint_radius_m > 0.0 && r.top_offset_m >= 0.0,
            "{name}"
        );
        if r.info.kind == Kind::Object {
            // LIBERO's On(x, region) wants the origin < 10 cm above the region's top.
            assert!(r.bottom_offset_m <= 0.07, "{name}");
            assert!(
                (0.03..=0.3).contains(&r.mass_kg) || name == "basket",
                "{name}"
            );
        }
        let Some(g) = r.grasp else { continue };
        assert!(g.width_m <= 0.07 && g.width_m > 0.02, "{name}: {g:?}");
        // The SimplerEnv-style objects are sized for the WidowX-like gripper (pads open to
        // 50 mm and reach 12 mm past the tool point): flat, low things are fine there.
        assert!(
            g.height_m >= 0.045 || super::is_simpler(name),
            "{name}: {g:?}"
        );
        let z = g.center_body_m[2];
        assert!(
            z > -r.bottom_offset_m && z < g.height_m - r.bottom_offset_m,
            "{name}"
        );
        // Fingertips within 6 cm of the top, so the palm stays clear.
        assert!(g.height_m - r.bottom_offset_m - z <= 0.06, "{name}: {g:?}");
        if let Some([x, y]) = g.close_axis_body {
            assert!((x.hypot(y) - 1.0).abs() < 1e-12, "{name}");
        }
    }
}

#[test]
fn mjcf_names_carry_the_instance_prefix() {
    for r in recipes() {
        let Body::Mjcf(xml) = r.body else { continue };
        for attr in xml.split("name=\"").skip(1) {
            assert!(attr.starts_with("{name}_"), "{}: {attr:.40}", r.info.name);
        }
        for region in r.regions {
            assert!(xml.contains(&format!("\"{{name}}_{region}\"")), "{region}");
        }
        for p in r.parts {
            for n in [p.joint, p.handle_site] {
                assert!(xml.contains(&format!("\"{{name}}_{n}\"")), "{n}");
            }
        }
    }
}

#[test]
fn errors_name_the_instance_and_category() {
    let e = build("thing_1", "flying_carpet", [0.0; 3]).unwrap_err();
    let CatalogError::UnknownCategory {
        instance,
        category,
        known,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (instance.as_str(), category.as_str()),
        ("thing_1", "flying_carpet")
    );
    assert!(known.contains("akita_black_bowl") && known.contains("wooden_cabinet"));
    let text = e.to_string();
    assert!(text.starts_with("thing_1: unknown category `flying_carpet` (known: "));
    assert!(matches!(
        build("bad name", "plate", [0.0; 3]),
        Err(CatalogError::InvalidInstance { .. })
    ));
    assert!(matches!(
        build("plate_1", "plate", [0.0, f64::NAN, 0.0]),
        Err(CatalogError::NonFinitePosition { .. })
    ));
}
