#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use super::*;

#[test]
fn instructions_come_from_file_names_as_in_libero() {
    assert_eq!(
        instruction_from_file_name("KITCHEN_SCENE3_turn_on_the_stove_and_put_the_moka_pot_on_it"),
        "turn on the stove and put the moka pot on it"
    );
    assert_eq!(
        instruction_from_file_name("pick_up_the_black_bowl_on_the_stove_and_place_it_on_the_plate"),
        "pick up the black bowl on the stove and place it on the plate"
    );
}

#[test]
fn builtin_suites_load_with_ten_tasks_each() {
    let names = list(&builtin_dir()).unwrap();
    for n in [
        "libero_style_goal",
        "libero_style_long",
        "libero_style_object",
        "libero_style_spatial",
    ] {
        assert!(names.contains(&n.to_owned()), "{names:?}");
        let s = Suite::load(&builtin_dir(), n).unwrap();
        assert_eq!(s.tasks.len(), 10, "{n}");
        assert_eq!(s.task("0").unwrap().index, 0);
        let t = &s.tasks[3];
        assert_eq!(s.task(&t.name).unwrap().index, 3);
        assert!(s.task("99").is_err() && s.task("nope").is_err());
    }
}

#[test]
fn bad_suite_files_name_the_file_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("ddvla-suite-{}", std::process::id()));
    let sdir = dir.join("broken");
    std::fs::create_dir_all(&sdir).unwrap();
    let good = std::fs::read_to_string(builtin_dir().join("libero_style_goal/suite.toml")).unwrap();
    let cases = [
        (
            good.replace("libero_style_goal", "broken")
                .replace("image_size = 128", "image_size = 1"),
            "image_size",
        ),
        (
            good.replace("libero_style_goal", "broken")
                .replace("max_steps = 300", "max_steps = \"x\""),
            "max_steps",
        ),
        (
            good.replace("libero_style_goal", "other"),
            "differs from its folder",
        ),
        (
            good.replace("libero_style_goal", "broken")
                .replace("[scene]", "[scene]\nbogus = 1"),
            "bogus",
        ),
    ];
    for (text, needle) in cases {
        std::fs::write(sdir.join("suite.toml"), text).unwrap();
        let err = Suite::load(&dir, "broken").unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("suite.toml"), "{err}");
    }
    // A task file that is missing names the file.
    std::fs::write(
        sdir.join("suite.toml"),
        good.replace("libero_style_goal", "broken"),
    )
    .unwrap();
    let err = Suite::load(&dir, "broken").unwrap_err().to_string();
    assert!(err.contains(".bddl"), "{err}");
    let err = Suite::load(&dir, "absent").unwrap_err().to_string();
    assert!(err.contains("absent") && err.contains("broken"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
