//! [`Problem::widen_object_regions`]: grow the init regions of the movable objects, for
//! recording demonstrations whose objects stand farther from their usual spots.

use std::collections::HashSet;

use super::types::Problem;

impl Problem {
    /// Grows by `margin_m` metres on every side each range box of the regions a movable object
    /// starts in, and returns how many regions grew.
    ///
    /// A region grows when an `:init` atom places one of the `:objects` in it (its key is the
    /// atom's last argument), at least one of its boxes has a non-zero extent, and no `:goal`
    /// atom names it (widening a goal region would change what counts as success). Fixture
    /// placements (zero-extent boxes), regions on instances (sites) and goal regions stay as
    /// they are. A negative `margin_m` shrinks; the caller bounds it.
    pub fn widen_object_regions(&mut self, margin_m: f64) -> usize {
        let objects: HashSet<&str> = self.objects.iter().map(|o| o.name.as_str()).collect();
        let starts: HashSet<String> = self
            .init
            .iter()
            .filter(|a| a.args.first().is_some_and(|o| objects.contains(o.as_str())))
            .filter_map(|a| a.args.last().cloned())
            .collect();
        let goals: HashSet<&str> = self
            .goal
            .iter()
            .flat_map(|a| a.args.iter().map(String::as_str))
            .collect();
        let mut grown = 0;
        for region in &mut self.regions {
            let key = region.key();
            let has_extent = region.ranges.iter().any(|r| r[2] > r[0] || r[3] > r[1]);
            if !has_extent || !starts.contains(&key) || goals.contains(key.as_str()) {
                continue;
            }
            for r in &mut region.ranges {
                *r = [
                    r[0] - margin_m,
                    r[1] - margin_m,
                    r[2] + margin_m,
                    r[3] + margin_m,
                ];
            }
            grown += 1;
        }
        grown
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;

    const TEXT: &str = "(define (problem p) (:domain robosuite) (:language put it)
      (:regions
        (bowl_region (:target main_table) (:ranges ((0.0 0.1 0.02 0.12))))
        (plate_region (:target main_table) (:ranges ((0.1 0.1 0.12 0.12))))
        (goal_region (:target main_table) (:ranges ((0.2 0.2 0.22 0.22))))
        (cabinet_region (:target main_table) (:ranges ((0.3 0.3 0.3 0.3))))
        (top_region (:target wooden_cabinet_1)))
      (:fixtures main_table - table wooden_cabinet_1 - wooden_cabinet)
      (:objects bowl_1 - bowl plate_1 - plate cup_1 - cup)
      (:init (on bowl_1 main_table_bowl_region) (on plate_1 main_table_plate_region)
             (on cup_1 main_table_goal_region) (on wooden_cabinet_1 main_table_cabinet_region))
      (:goal (and (on bowl_1 plate_1) (on cup_1 main_table_goal_region))))";

    #[test]
    fn only_object_start_regions_outside_the_goal_grow() {
        let mut p = parse_str(TEXT, "t.bddl").unwrap();
        let before = p.clone();
        assert_eq!(p.widen_object_regions(0.03), 2);
        let ranges = |p: &super::Problem, name: &str| {
            p.regions
                .iter()
                .find(|r| r.name == name)
                .unwrap()
                .ranges
                .clone()
        };
        let bowl = ranges(&p, "bowl_region")[0];
        for (got, want) in bowl.iter().zip([-0.03, 0.07, 0.05, 0.15]) {
            assert!((got - want).abs() < 1e-12, "{bowl:?}");
        }
        assert!((ranges(&p, "plate_region")[0][2] - 0.15).abs() < 1e-12);
        for unchanged in ["goal_region", "cabinet_region", "top_region"] {
            assert_eq!(
                ranges(&p, unchanged),
                ranges(&before, unchanged),
                "{unchanged}"
            );
        }
        // The written file parses back to the widened problem.
        assert_eq!(parse_str(&p.to_bddl_string(), "t.bddl").unwrap(), p);
    }
}
