//! Embed an rpath to the libmujoco copy made by ddvla-sim's build script, so the `ddvla`
//! binary also runs when started directly (not only through `cargo run`).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_DDVLA_MUJOCO_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_DDVLA_MUJOCO_LIBDIR") {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
}
