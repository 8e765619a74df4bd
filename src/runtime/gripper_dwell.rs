//! A minimum dwell for the gripper command: once the command's sign changes (open ↔ close,
//! in any convention), it is kept for at least `min_steps` executed actions, so a policy's
//! one-step reversal (a chunk saying "open" for one step while closed on nothing, or
//! "close" one step after a release) reaches the gripper as a whole movement (when the
//! command in force has had its dwell) or not at all (when it has not).
//! Real grippers need a few hundred milliseconds to open or close; a command flipped faster
//! only twitches them.

/// The dwell filter over a stream of executed actions.
#[derive(Debug, Clone)]
pub struct GripperDwell {
    /// Steps a changed command is held before it may change again (at least 1).
    min_steps: usize,
    /// The gripper's index in an action.
    dim: usize,
    /// The command in force (its value as first given) and the steps it has been applied.
    held: Option<(f32, usize)>,
}

impl GripperDwell {
    /// A filter holding each new command of action dimension `dim` for `min_steps` steps
    /// (values below 1 count as 1: no filtering).
    pub fn new(min_steps: usize, dim: usize) -> Self {
        Self {
            min_steps: min_steps.max(1),
            dim,
            held: None,
        }
    }

    /// Forget the command in force (a new episode).
    pub fn reset(&mut self) {
        self.held = None;
    }

    /// Filter the next action to execute in place: a gripper value whose sign differs from
    /// the command in force, before that command has been applied `min_steps` times, is
    /// replaced by the command in force. Actions without that dimension, and non-finite or
    /// zero gripper values, pass unchanged and leave the state alone. Returns whether the
    /// action was changed.
    pub fn filter(&mut self, action: &mut [f32]) -> bool {
        let Some(&value) = action.get(self.dim) else {
            return false;
        };
        if !value.is_finite() || value == 0.0 {
            return false;
        }
        match &mut self.held {
            Some((held, steps)) if held.signum() == value.signum() => {
                *steps += 1;
                false
            }
            Some((held, steps)) if *steps < self.min_steps => {
                action[self.dim] = *held;
                *steps += 1;
                true
            }
            _ => {
                self.held = Some((value, 1));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gripper values `cmds` (one-dimensional actions) after the filter.
    fn run(min_steps: usize, cmds: &[f32]) -> Vec<f32> {
        let mut f = GripperDwell::new(min_steps, 0);
        cmds.iter()
            .map(|&c| {
                let mut a = [c];
                f.filter(&mut a);
                a[0]
            })
            .collect()
    }

    #[test]
    fn a_reversal_within_the_dwell_is_held_off_and_a_later_one_becomes_a_whole_movement() {
        // Closed; an open blip at step 1 (the close applied once) is held off; one at step 4
        // (the close applied 4 times) opens for the whole dwell.
        let blips = [1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0];
        let out = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0];
        assert_eq!(run(4, &blips), out);
    }

    #[test]
    fn a_new_command_is_kept_for_its_dwell_then_may_change() {
        // Open for 3 steps, close at step 3 (held against the reopen at 4), open again at
        // step 6, once the close has been applied 3 times.
        let cmds = [-1.0, -1.0, -1.0, 0.9, -1.0, 0.9, -1.0, -1.0, -1.0];
        let out = [-1.0, -1.0, -1.0, 0.9, 0.9, 0.9, -1.0, -1.0, -1.0];
        assert_eq!(run(3, &cmds), out);
        // A change before the first command has had its dwell is held off too.
        assert_eq!(run(3, &[-1.0, 1.0, 1.0, 1.0]), [-1.0, -1.0, -1.0, 1.0]);
    }

    #[test]
    fn a_dwell_of_one_changes_nothing() {
        let cmds = [1.0, -1.0, 1.0, -1.0];
        assert_eq!(run(1, &cmds), cmds);
        assert_eq!(run(0, &cmds), cmds);
    }

    #[test]
    fn reset_forgets_the_command_and_odd_values_pass() {
        let mut f = GripperDwell::new(5, 1);
        let mut a = [0.3, 1.0];
        assert!(!f.filter(&mut a));
        let mut b = [0.3, -1.0];
        assert!(f.filter(&mut b));
        assert_eq!(b.map(f32::to_bits), [0.3f32, 1.0].map(f32::to_bits));
        let mut nan = [0.0, f32::NAN];
        assert!(!f.filter(&mut nan));
        assert!(nan[1].is_nan());
        let mut short = [0.5];
        assert!(!f.filter(&mut short));
        f.reset();
        let mut c = [0.3, -1.0];
        assert!(!f.filter(&mut c));
        assert_eq!(c.map(f32::to_bits), [0.3f32, -1.0].map(f32::to_bits));
    }
}
