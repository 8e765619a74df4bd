//! Checks of a serve config against the model it serves, before anything runs.

use anyhow::{Result, bail};

use super::config::{CommandKind, ProprioSource, ServeConfig};
use crate::remote::msgs::ModelShape;

/// The config must match the model: camera count, action dims, command kind, and for a
/// position-target model a proprio that holds the end effector's position.
pub(super) fn check_shapes(config: &ServeConfig, model: &ModelShape) -> Result<()> {
    if config.topics.cameras.len() != model.cameras {
        bail!(
            "topics.cameras lists {} cameras, the model takes {}",
            config.topics.cameras.len(),
            model.cameras
        );
    }
    let dim = model.action_dim;
    if config.safety.lower.len() != dim {
        bail!(
            "safety has {} dims, the model's actions have {dim}",
            config.safety.lower.len()
        );
    }
    if config.output.command == CommandKind::EeDelta && dim < 6 {
        bail!("output.command = ee_delta needs 6+ action dims, the model has {dim}");
    }
    // Joint states carry joint angles (zeros until they come), not the end effector's
    // position a target is executed from: sending deltas computed from them would drive the
    // arm blind.
    if let Some(t) = model.action_position_target
        && config.input.proprio != Some(ProprioSource::Topic)
    {
        bail!(
            "the model's actions are target positions executed from proprio values {}..{} (the \
             end effector's position): set input.proprio = \"topic\" with topics.proprio \
             publishing that vector (joint states do not hold it)",
            t.proprio_at,
            t.proprio_at.saturating_add(3)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failure is the test failing

    use ddvla_policy::position_target::PositionTarget;

    use super::*;

    #[test]
    fn a_position_target_model_needs_the_proprio_topic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // The robot launch config reads joint states.
        let mut config = ServeConfig::load(&root.join("launch/robot.toml")).unwrap();
        let mut model = ModelShape {
            cameras: config.topics.cameras.len(),
            image_size: 224,
            proprio_dim: 8,
            episode_step_input: false,
            skill_prompt: None,
            action_position_target: None,
            chunk_len: 8,
            action_dim: config.safety.lower.len(),
            trained: true,
        };
        check_shapes(&config, &model).unwrap();
        model.action_position_target = Some(PositionTarget {
            proprio_at: 0,
            metres_per_unit: 0.02,
            labels: ddvla_policy::position_target::PositionLabels::Delta,
        });
        let err = check_shapes(&config, &model).unwrap_err().to_string();
        assert!(err.contains("input.proprio = \"topic\""), "{err}");
        config.input.proprio = Some(ProprioSource::Topic);
        check_shapes(&config, &model).unwrap();
    }
}
