//! Every task of the built-in suites composes into a scene whose init states sample and
//! settle, and the goal is not already true at the start. Needs `scripts/setup.sh`.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use ddvla_tasks::predicates::Goal;
use ddvla_tasks::scene::{TaskScene, generate_init_states};
use ddvla_tasks::suite::{Suite, builtin_dir, list};

#[test]
fn every_builtin_task_samples_init_states_where_the_goal_does_not_hold() {
    let mut failures = Vec::new();
    for name in list(&builtin_dir()).unwrap() {
        let suite = Suite::load(&builtin_dir(), &name).unwrap();
        for task in &suite.tasks {
            let states = match generate_init_states(&suite, task, 2, 1) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{name}/{}: {e}", task.name));
                    continue;
                }
            };
            assert_eq!(states.states.len(), 2);
            let scene = TaskScene::compose(&suite, task).unwrap();
            let mut cfg = scene.env_config(&suite).unwrap();
            cfg.cameras.clear();
            let mut env = ddvla_sim::Env::new(cfg).unwrap();
            let goal = Goal::new(&task.problem).unwrap();
            for i in 0..2 {
                env.reset(0).unwrap();
                states.apply(&mut env, i, &task.init_states_path).unwrap();
                env.hold(-1.0).unwrap();
                let status = goal.evaluate(&env).unwrap();
                if status.success {
                    failures.push(format!(
                        "{name}/{}: goal holds at init state {i}",
                        task.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn our_suite_files_round_trip_through_the_writer() {
    for name in list(&builtin_dir()).unwrap() {
        let suite = Suite::load(&builtin_dir(), &name).unwrap();
        for task in &suite.tasks {
            let text = task.problem.to_bddl_string();
            let again = ddvla_tasks::bddl::parse_str(&text, &task.problem.file).unwrap();
            assert_eq!(again, task.problem, "{name}/{}", task.name);
        }
    }
}
