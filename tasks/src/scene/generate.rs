//! Generating a task's committed init states (`ddvla tasks init-states`).

use ddvla_sim::Env;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{InitSampler, SceneError, TaskScene};
use crate::suite::{InitStates, Suite, Task};

/// The seed of task `task_index`'s sampler stream for suite seed `seed`.
fn task_seed(seed: u64, task_index: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(task_index as u64 + 1)
}

/// Sample `count` settled init states of `task` (no cameras are rendered). Deterministic in
/// `(seed, task.index)` and the MuJoCo version.
pub fn generate_init_states(
    suite: &Suite,
    task: &Task,
    count: usize,
    seed: u64,
) -> Result<InitStates, SceneError> {
    let scene = TaskScene::compose(suite, task)?;
    let mut cfg = scene.env_config(suite)?;
    cfg.cameras.clear();
    let mut env = Env::new(cfg)?;
    let sampler = InitSampler::new(&scene, &task.problem);
    let mut rng = ChaCha8Rng::seed_from_u64(task_seed(seed, task.index));
    let mut states = Vec::with_capacity(count);
    for _ in 0..count {
        states.push(sampler.sample(&mut env, &mut rng)?.0);
    }
    Ok(InitStates {
        suite: suite.name().to_owned(),
        task: task.name.clone(),
        seed,
        mujoco_version: ddvla_sim::mujoco_version(),
        generated_by: format!(
            "ddvla tasks init-states --suite {} --task {} --count {count} --seed {seed}",
            suite.name(),
            task.name
        ),
        joints: env.scene_joint_names(),
        states,
    })
}
