//! `(:regions …)`: a port of LIBERO's `get_regions` (`libero/libero/envs/bddl_utils.py`).
//!
//! A region is `(name (:target T) (:ranges ((x0 y0 x1 y1) …)) (:yaw_rotation ((lo hi) …))
//! (:rgba (r g b a)))`; only `:target` is required. Differences from LIBERO, all on input no
//! LIBERO file has: a repeated attribute is an error (LIBERO appends ranges and keeps the last
//! target/yaw), a yaw pair must have two numbers (LIBERO `eval`s any list), and numbers must
//! be finite.

use super::error::BddlError;
use super::parse::Cx;
use super::sexp::Sexp;
use super::types::Region;

/// The items of `(:regions …)`, in file order.
pub(crate) fn regions(cx: &Cx<'_>, body: &[Sexp]) -> Result<Vec<Region>, BddlError> {
    body.iter().map(|r| region(cx, r)).collect()
}

/// The line of the first occurrence of each attribute, for duplicate errors.
#[derive(Default)]
struct Seen {
    target: Option<usize>,
    ranges: Option<usize>,
    yaw_rotation: Option<usize>,
    rgba: Option<usize>,
}

fn region(cx: &Cx<'_>, s: &Sexp) -> Result<Region, BddlError> {
    let (items, line, _) = cx.list(
        s,
        "a region such as `(plate_region (:target main_table) …)`",
    )?;
    let Some((name, attributes)) = items.split_first() else {
        return Err(cx.syntax(line, "a region name", "`()`"));
    };
    let name = cx.word(name, "a region name")?.to_owned();
    let mut target = None;
    let mut region = Region {
        name,
        target: String::new(),
        ranges: Vec::new(),
        yaw_rotation: Vec::new(),
        rgba: None,
    };
    let mut seen = Seen::default();
    for attribute in attributes {
        let (items, aline, aclose) =
            cx.list(attribute, "a region attribute such as `(:target …)`")?;
        let Some((key, value)) = items.split_first() else {
            return Err(cx.syntax(aline, "a region attribute keyword", "`()`"));
        };
        let key = cx.word(key, "a region attribute keyword")?;
        let slot = match key {
            ":target" => &mut seen.target,
            ":ranges" => &mut seen.ranges,
            ":yaw_rotation" => &mut seen.yaw_rotation,
            ":rgba" => &mut seen.rgba,
            other => {
                return Err(cx.syntax(
                    aline,
                    "one of `:target`, `:ranges`, `:yaw_rotation`, `:rgba`",
                    format!("`{other}`"),
                ));
            }
        };
        if let Some(first_line) = *slot {
            return Err(BddlError::Duplicate {
                file: cx.file.to_path_buf(),
                line: aline,
                section: key.to_owned(),
                first_line,
            });
        }
        *slot = Some(aline);
        match key {
            ":target" => target = Some(cx.single_word(value, aclose, "a target name")?),
            ":ranges" => region.ranges = rows(cx, value, aclose, "a `:ranges` box (x0 y0 x1 y1)")?,
            ":yaw_rotation" => {
                region.yaw_rotation = rows(cx, value, aclose, "a `:yaw_rotation` pair (lo hi)")?;
            }
            _ => region.rgba = Some(one_row(cx, value, aclose, "`:rgba` (r g b a)")?),
        }
    }
    let Some(target) = target else {
        return Err(cx.syntax(
            line,
            format!("`(:target …)` in region `{}`", region.name),
            "none",
        ));
    };
    region.target = target;
    Ok(region)
}

/// `((a b …) (a b …) …)`: one list of rows of `N` numbers.
fn rows<const N: usize>(
    cx: &Cx<'_>,
    value: &[Sexp],
    close_line: usize,
    what: &str,
) -> Result<Vec<[f64; N]>, BddlError> {
    let (items, _, _) = cx.list(
        one(cx, value, close_line, what)?,
        &format!("a list of {what} rows"),
    )?;
    items.iter().map(|row| numbers(cx, row, what)).collect()
}

/// `(a b …)`: one row of `N` numbers.
fn one_row<const N: usize>(
    cx: &Cx<'_>,
    value: &[Sexp],
    close_line: usize,
    what: &str,
) -> Result<[f64; N], BddlError> {
    numbers(cx, one(cx, value, close_line, what)?, what)
}

/// The single value of an attribute.
fn one<'s>(
    cx: &Cx<'_>,
    value: &'s [Sexp],
    close_line: usize,
    what: &str,
) -> Result<&'s Sexp, BddlError> {
    match value {
        [] => Err(cx.syntax(close_line, format!("the values of {what}"), "`)`")),
        [one] => Ok(one),
        [_, extra, ..] => Err(cx.syntax(
            extra.line(),
            format!("`)` after the values of {what}"),
            extra.describe(),
        )),
    }
}

/// A list of exactly `N` finite numbers.
fn numbers<const N: usize>(cx: &Cx<'_>, s: &Sexp, what: &str) -> Result<[f64; N], BddlError> {
    let (items, line, _) = cx.list(s, &format!("{N} numbers for {what}"))?;
    if items.len() != N {
        return Err(cx.syntax(
            line,
            format!("{N} numbers for {what}"),
            format!("{} items", items.len()),
        ));
    }
    let mut out = [0.0; N];
    for (slot, item) in out.iter_mut().zip(items) {
        let text = cx.word(item, "a number")?;
        *slot = text
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| cx.syntax(item.line(), "a finite number", format!("`{text}`")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::bddl::parse_str;

    fn with_regions(regions: &str) -> String {
        format!(
            "(define (problem p) (:domain robosuite) (:language go)\n(:regions\n{regions}\n)\n\
             (:objects a_1 - a) (:init) (:goal (and (open a_1))))"
        )
    }

    fn err(regions: &str) -> String {
        parse_str(&with_regions(regions), "r.bddl")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_all_attributes() {
        let p = parse_str(
            &with_regions(
                "(plate_region (:target main_table) (:ranges ((0.04 -0.03 0.06 -0.01) (1 2 3 4)))\n\
                 (:yaw_rotation ((0 3.141592653589793))) (:rgba (0 0 1 0.5)))\n\
                 (top_region (:target wooden_cabinet_1))",
            ),
            "r.bddl",
        )
        .unwrap();
        assert_eq!(p.regions.len(), 2);
        let r = &p.regions[0];
        assert_eq!(
            (r.name.as_str(), r.target.as_str()),
            ("plate_region", "main_table")
        );
        assert_eq!(
            r.ranges,
            vec![[0.04, -0.03, 0.06, -0.01], [1.0, 2.0, 3.0, 4.0]]
        );
        assert_eq!(r.yaw_rotation, vec![[0.0, std::f64::consts::PI]]);
        assert_eq!(r.rgba, Some([0.0, 0.0, 1.0, 0.5]));
        assert_eq!(r.key(), "main_table_plate_region");
        let site = &p.regions[1];
        assert!(site.ranges.is_empty() && site.yaw_rotation.is_empty() && site.rgba.is_none());
        assert_eq!(site.key(), "wooden_cabinet_1_top_region");
    }

    #[test]
    fn region_errors_name_line_and_expectation() {
        assert_eq!(
            err("(r (:ranges ((0 0 1 1))))"),
            "r.bddl:3: expected `(:target …)` in region `r`, found none"
        );
        assert_eq!(
            err("(r (:target t)\n (:ranges ((0 0 1))))"),
            "r.bddl:4: expected 4 numbers for a `:ranges` box (x0 y0 x1 y1), found 3 items"
        );
        assert_eq!(
            err("(r (:target t) (:ranges ((0 0 1 x))))"),
            "r.bddl:3: expected a finite number, found `x`"
        );
        assert_eq!(
            err("(r (:target t) (:ranges ((0 0 1 nan))))"),
            "r.bddl:3: expected a finite number, found `nan`"
        );
        assert_eq!(
            err("(r (:target t)\n(:target u))"),
            "r.bddl:4: expected one `:target`, found a second one (the first is on line 3)"
        );
        assert_eq!(
            err("(r (:target t) (:size 1))"),
            "r.bddl:3: expected one of `:target`, `:ranges`, `:yaw_rotation`, `:rgba`, found `:size`"
        );
        assert_eq!(
            err("(r (:target t u))"),
            "r.bddl:3: expected `)` after a target name, found `u`"
        );
        assert_eq!(
            err("(r (:target t) (:yaw_rotation (0 0)))"),
            "r.bddl:3: expected 2 numbers for a `:yaw_rotation` pair (lo hi), found `0`"
        );
        assert_eq!(
            err("(r (:target t) (:rgba))"),
            "r.bddl:3: expected the values of `:rgba` (r g b a), found `)`"
        );
        assert_eq!(
            err("plate"),
            "r.bddl:3: expected a region such as `(plate_region (:target main_table) …)`, found `plate`"
        );
    }
}
