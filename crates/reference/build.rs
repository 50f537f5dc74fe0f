//! Gives every binary, test and bench of this crate an rpath to libtorch's `lib/`, so that
//! `target/*/examiner` and the test binaries run without `LD_LIBRARY_PATH`.
//!
//! torch-sys (`links = "tch"`) publishes the directory it linked against as
//! `DEP_TCH_LIBTORCH_LIB`; it is set whichever way libtorch was found (`LIBTORCH`,
//! `LIBTORCH_USE_PYTORCH`, or the project's own `.libtorch/`).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match std::env::var("DEP_TCH_LIBTORCH_LIB") {
        Ok(lib) if target_os == "linux" || target_os == "macos" => {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        }
        Ok(_) => {}
        Err(_) => println!(
            "cargo:warning=torch-sys did not report its libtorch directory; binaries will need \
             the library path set by hand"
        ),
    }
}
