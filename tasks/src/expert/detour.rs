//! Detours home between skills: a driving variant of the expert
//! ([`super::ScriptedExpert::detouring_home`]) that, each time a skill ends with more to do,
//! first takes the arm back toward the pose the episode started from (gripper open: climbing
//! to that height, then across) for a number of steps drawn per detour, before the next
//! skill goes on from wherever the detour ended.
//!
//! Why: a multi-step task's demonstrations never come back to the start pose, so there a
//! policy can tell the first phase from the proprio alone; once its own rollout drifts back
//! there after the first phase (the long suite's failures, docs/results-preamble.md), the
//! images are the only thing that says the first object is already done, and it has never
//! been shown that they matter. Recorded with the labeller ([`super::ScriptedExpert::labeller`],
//! whose phases follow the state), every step of a detour and of the way back is labelled
//! with the next skill's motion: the arm where the episode started, another answer, told
//! apart by the scene (and by the raw axis-angle orientation's sign, which flips between the
//! start, about −π·x, and the later visits, about +π·x: a policy reading the proprio in one
//! hemisphere, `proprio_axis_angle_at`, sees the same orientation).

use nalgebra::Vector3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::motion::Target;
use super::world::Ee;

/// Within this distance of the start pose (m) a detour is over.
const HOME_TOLERANCE_M: f64 = 0.01;
/// Below the start height by more than this (m), a detour climbs straight up first.
const CLIMB_FIRST_M: f64 = 0.02;

/// The detour state of one episode.
#[derive(Debug, Clone)]
pub(crate) struct Detour {
    /// Most steps of one detour (each lasts a number drawn from `1..=max_steps`).
    max_steps: usize,
    /// The end effector's position (m, world) and yaw (rad) at the episode's first step.
    home: Option<(Vector3<f64>, f64)>,
    /// Steps left in the current detour (0: none under way).
    left: usize,
    rng: ChaCha8Rng,
}

impl Detour {
    /// Detours of up to `max_steps` steps, their lengths drawn from `seed`.
    pub fn new(max_steps: usize, seed: u64) -> Self {
        Self {
            max_steps,
            home: None,
            left: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Most steps of one detour.
    pub fn max_steps(&self) -> usize {
        self.max_steps
    }

    /// Note the end effector of this step (the first one noted is home).
    pub fn observe(&mut self, ee: &Ee) {
        if self.home.is_none() {
            self.home = Some((ee.pos, ee.yaw()));
        }
    }

    /// A skill ended with more to do: start a detour of a drawn length.
    pub fn start(&mut self) {
        if self.max_steps > 0 {
            self.left = self.rng.random_range(1..=self.max_steps);
        }
    }

    /// The detour's target this step, `None` when no detour is under way (or it just ended:
    /// its steps ran out or the arm is home).
    pub fn target(&mut self, ee: &Ee) -> Option<Target> {
        let (home, yaw) = self.home?;
        if self.left == 0 {
            return None;
        }
        if (ee.pos - home).norm() < HOME_TOLERANCE_M {
            self.left = 0;
            return None;
        }
        self.left -= 1;
        let pos = if ee.pos.z < home.z - CLIMB_FIRST_M {
            Vector3::new(ee.pos.x, ee.pos.y, home.z)
        } else {
            home
        };
        Some(Target::new(pos, yaw, -1.0))
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::Matrix3;

    use super::*;

    fn ee(x: f64, y: f64, z: f64) -> Ee {
        Ee {
            pos: Vector3::new(x, y, z),
            rot: Matrix3::identity(),
            grip: 0.0,
        }
    }

    #[test]
    fn no_detour_until_started() {
        let mut d = Detour::new(10, 0);
        d.observe(&ee(0.0, 0.0, 1.0));
        assert!(d.target(&ee(0.3, 0.0, 1.0)).is_none());
    }

    #[test]
    fn climbs_first_then_goes_home_open() {
        let mut d = Detour::new(1000, 1);
        d.observe(&ee(0.1, 0.2, 1.0));
        d.observe(&ee(0.5, 0.5, 0.5)); // later steps do not move home
        d.start();
        let low = d.target(&ee(0.5, -0.1, 0.9)).expect("detour under way");
        assert_eq!(low.pos, Vector3::new(0.5, -0.1, 1.0));
        assert!((low.grip + 1.0).abs() < 1e-6);
        let high = d.target(&ee(0.5, -0.1, 0.99)).expect("detour under way");
        assert_eq!(high.pos, Vector3::new(0.1, 0.2, 1.0));
        // Home reached: the detour is over.
        assert!(d.target(&ee(0.1, 0.2, 1.005)).is_none());
        assert!(d.target(&ee(0.5, -0.1, 0.99)).is_none());
    }

    #[test]
    fn lengths_are_drawn_within_the_limit_and_repeat_with_the_seed() {
        let lengths = |seed| {
            let mut d = Detour::new(5, seed);
            d.observe(&ee(0.0, 0.0, 1.0));
            (0..20)
                .map(|_| {
                    d.start();
                    let mut n = 0;
                    while d.target(&ee(0.5, 0.0, 1.0)).is_some() {
                        n += 1;
                    }
                    n
                })
                .collect::<Vec<_>>()
        };
        let a = lengths(3);
        assert!(a.iter().all(|n| (1..=5).contains(n)), "{a:?}");
        assert!(a.iter().any(|&n| n != a[0]), "lengths vary: {a:?}");
        assert_eq!(a, lengths(3));
    }
}
