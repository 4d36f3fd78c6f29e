//! Rebuild when a policy file changes: `include_dir!` alone does not tell Cargo.
fn main() {
    for dir in ["rego", "cedar", "data", "tests"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
