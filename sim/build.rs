//! Makes libmujoco (fetched by `scripts/setup.sh`) loadable at run and test time: copy it into
//! this build's OUT_DIR (inside the target dir) and add that directory to the link search
//! path; cargo puts link-search directories inside the target dir on the dynamic-library path
//! of `cargo run` and `cargo test`.

use std::path::PathBuf;

const LIB: &str = "libmujoco.so.3.17.0";

fn main() {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    let Some(dir) = std::env::var_os("MUJOCO_DYNAMIC_LINK_DIR") else {
        panic!("MUJOCO_DYNAMIC_LINK_DIR is not set: run scripts/setup.sh (see .cargo/config.toml)");
    };
    let src = PathBuf::from(dir).join(LIB);
    println!("cargo:rerun-if-changed={}", src.display());
    assert!(
        src.exists(),
        "{} not found: run scripts/setup.sh to fetch MuJoCo 3.17.0 from PyPI",
        src.display()
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dst = out.join(LIB);
    std::fs::copy(&src, &dst)
        .unwrap_or_else(|e| panic!("copying {} to {}: {e}", src.display(), dst.display()));
    println!("cargo:rustc-link-search=native={}", out.display());
    // Dependents' build scripts read this as DEP_DDVLA_MUJOCO_LIBDIR (rpath for binaries).
    println!("cargo:libdir={}", out.display());
}
