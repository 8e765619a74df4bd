//! DART-style recording (Laskey et al., 2017): the scripted expert drives with noise added to
//! its arm actions, and the recording stores the expert's clean action (and, with chunk
//! labels, its clean chunk) from every state the noisy execution reached. The episodes stay
//! close to the expert's own (it corrects each perturbation itself, being closed-loop on
//! the simulator state), yet they show what to do a few centimetres off the expert's path —
//! an arm above the grasp height when the plain demonstrations would already close there,
//! a carried object off the plate's centre — which plain demonstrations never show and a
//! policy's small errors lead to.
//!
//! The noise is an AR(1) process per arm dimension (`n ← ρ·n + √(1−ρ²)·σ·ε`, ε standard
//! normal, ρ = e^(−1/steps)): stationary standard deviation σ in action units, correlated
//! over about `steps` control steps, so it moves the arm rather than jittering it. The
//! gripper dimension (the last) is never perturbed. Executed actions are clipped to
//! [−1, 1], the action space.

use ddvla_tasks::eval::{EvalError, EvalPolicy, StepContext};
use ddvla_tasks::expert::ScriptedExpert;
use ddvla_tasks::suite::Task;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::expert_labels::{LabelSlot, StepLabeller};

/// The noise added to the expert's executed arm actions (recorded with each episode).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActionNoise {
    /// Stationary standard deviation per arm dimension, in action units (the action space
    /// is [−1, 1]).
    pub sigma: f64,
    /// Correlation time in control steps (the AR(1) coefficient is e^(−1/steps)).
    pub steps: f64,
}

impl ActionNoise {
    /// Checked noise settings: `sigma` in (0, 1], `steps` ≥ 1 and finite.
    pub fn new(sigma: f64, steps: f64) -> Result<Self, EvalError> {
        let bad = |reason: String| EvalError::Policy {
            policy: "noisy expert".into(),
            reason,
        };
        if !(sigma > 0.0 && sigma <= 1.0) {
            return Err(bad(format!(
                "action noise {sigma} is outside (0, 1] (action units)"
            )));
        }
        if !(steps.is_finite() && steps >= 1.0) {
            return Err(bad(format!(
                "noise correlation {steps} steps is not a finite number ≥ 1"
            )));
        }
        Ok(Self { sigma, steps })
    }

    /// The AR(1) coefficient ρ.
    fn rho(&self) -> f64 {
        (-1.0 / self.steps).exp()
    }
}

/// A standard normal sample (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln stays finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An [`EvalPolicy`] that executes the scripted expert's actions plus [`ActionNoise`] on the
/// arm dimensions, and leaves the expert's clean action (and chunk) for every step in a
/// [`LabelSlot`], as [`super::ExpertLabelled`] does for another policy's rollouts.
pub struct NoisyExpert {
    labeller: StepLabeller,
    noise: ActionNoise,
    rng: ChaCha8Rng,
    /// The AR(1) state per arm dimension (empty before an episode's first step).
    state: Vec<f64>,
}

impl NoisyExpert {
    /// The plain expert ([`ScriptedExpert::new`]) executing with `noise`; with
    /// `label_chunk` > 0 each step is also labelled with the expert's own clean chunk of
    /// that many steps.
    pub fn new(noise: ActionNoise, label_chunk: usize) -> Self {
        Self {
            labeller: StepLabeller::new(ScriptedExpert::new(), label_chunk),
            noise,
            rng: ChaCha8Rng::seed_from_u64(0),
            state: Vec::new(),
        }
    }

    /// Where the recorder finds the label of the step just taken.
    pub fn labels(&self) -> LabelSlot {
        self.labeller.slot()
    }

    /// The next noise vector for `arm_dims` arm dimensions.
    fn next_noise(&mut self, arm_dims: usize) -> &[f64] {
        let sigma = self.noise.sigma;
        if self.state.len() == arm_dims {
            let rho = self.noise.rho();
            let innovation = (1.0 - rho * rho).sqrt() * sigma;
            for n in &mut self.state {
                *n = rho * *n + innovation * standard_normal(&mut self.rng);
            }
        } else {
            // The first step draws from the stationary distribution.
            self.state = (0..arm_dims)
                .map(|_| sigma * standard_normal(&mut self.rng))
                .collect();
        }
        &self.state
    }
}

impl EvalPolicy for NoisyExpert {
    fn describe(&self) -> String {
        format!(
            "expert with action noise σ {} over {} steps",
            self.noise.sigma, self.noise.steps
        )
    }

    fn needs_frames(&self) -> bool {
        false
    }

    fn begin_episode(&mut self, task: &Task, episode: usize, seed: u64) -> Result<(), EvalError> {
        self.state.clear();
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.labeller.begin_episode(task, episode, seed)
    }

    fn act(&mut self, ctx: &StepContext<'_>) -> Result<Vec<Vec<f32>>, EvalError> {
        let label = self.labeller.label(ctx)?;
        let arm_dims = label.action.len().saturating_sub(1);
        let executed = with_noise(&label.action, self.next_noise(arm_dims));
        self.labeller.publish(label);
        Ok(vec![executed])
    }
}

/// `action` with `noise` added to its first `noise.len()` dimensions, clipped to [−1, 1].
fn with_noise(action: &[f32], noise: &[f64]) -> Vec<f32> {
    action
        .iter()
        .enumerate()
        .map(|(i, &a)| match noise.get(i) {
            Some(&n) => (f64::from(a) + n).clamp(-1.0, 1.0) as f32,
            None => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_outside_their_range_are_refused() {
        assert!(ActionNoise::new(0.2, 5.0).is_ok());
        for (sigma, steps) in [
            (0.0, 5.0),
            (-0.1, 5.0),
            (1.5, 5.0),
            (f64::NAN, 5.0),
            (0.2, 0.5),
            (0.2, f64::INFINITY),
            (0.2, f64::NAN),
        ] {
            let e = ActionNoise::new(sigma, steps).unwrap_err().to_string();
            assert!(e.contains("noise"), "{sigma} {steps}: {e}");
        }
    }

    #[test]
    fn noise_has_its_deviation_and_correlation_and_spares_the_gripper() {
        let noise = ActionNoise::new(0.3, 5.0).unwrap();
        let mut p = NoisyExpert::new(noise, 0);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| p.next_noise(6)[2]).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let lag1 = xs
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / (n - 1) as f64
            / var;
        assert!((var.sqrt() - 0.3).abs() < 0.03, "std {}", var.sqrt());
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(
            (lag1 - (-0.2f64).exp()).abs() < 0.05,
            "lag-1 correlation {lag1}"
        );

        let action = [0.9f32, -0.2, 0.0, 0.0, 0.0, 0.0, 1.0];
        let noisy = with_noise(&action, &[0.5, 0.1, -0.3, 0.0, 0.0, 0.0]);
        assert_eq!(noisy, vec![1.0, -0.1, -0.3, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn episodes_with_the_same_seed_draw_the_same_noise() {
        let noise = ActionNoise::new(0.2, 3.0).unwrap();
        let mut a = NoisyExpert::new(noise, 0);
        let mut b = NoisyExpert::new(noise, 0);
        a.rng = ChaCha8Rng::seed_from_u64(7);
        b.rng = ChaCha8Rng::seed_from_u64(7);
        let xa: Vec<f64> = (0..10).flat_map(|_| a.next_noise(3).to_vec()).collect();
        let xb: Vec<f64> = (0..10).flat_map(|_| b.next_noise(3).to_vec()).collect();
        assert_eq!(xa, xb);
        b.rng = ChaCha8Rng::seed_from_u64(8);
        b.state.clear();
        let xc: Vec<f64> = (0..10).flat_map(|_| b.next_noise(3).to_vec()).collect();
        assert_ne!(xa, xc);
    }
}
