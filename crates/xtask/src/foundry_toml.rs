//! The compiler settings of `contracts/foundry.toml`, so that `abi/` is built exactly as `forge`
//! builds the contracts it tests: one source of truth for optimizer, IR pipeline, EVM version,
//! metadata and remappings.

use std::path::Path;

use eyre::{Result, WrapErr, eyre};
use serde::Deserialize;

/// The `[profile.default]` keys that change bytecode or import resolution.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Profile {
    /// Folder of the contract sources, relative to the Foundry root.
    #[serde(default = "default_src")]
    pub src: String,
    /// Library folders, relative to the Foundry root.
    #[serde(default)]
    pub libs: Vec<String>,
    /// `prefix=path` remappings, paths relative to the Foundry root.
    #[serde(default)]
    pub remappings: Vec<String>,
    /// Whether the optimizer runs.
    #[serde(default)]
    pub optimizer: bool,
    /// The optimizer's expected number of runs.
    #[serde(default = "default_runs")]
    pub optimizer_runs: usize,
    /// Whether to compile through Yul IR.
    #[serde(default)]
    pub via_ir: bool,
    /// The target EVM version, e.g. `prague`.
    pub evm_version: Option<String>,
    /// `none` makes the bytecode independent of file paths and comments.
    pub bytecode_hash: Option<String>,
    /// Whether solc appends CBOR metadata.
    #[serde(default = "default_true")]
    pub cbor_metadata: bool,
}

fn default_src() -> String {
    "src".into()
}

fn default_runs() -> usize {
    200
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
struct File {
    profile: Profiles,
}

#[derive(Deserialize)]
struct Profiles {
    default: Profile,
}

/// Reads the default profile of a `foundry.toml`.
pub fn read(path: &Path) -> Result<Profile> {
    let text =
        std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    parse(&text).wrap_err_with(|| format!("in {}", path.display()))
}

/// Parses the default profile out of `foundry.toml` text.
pub fn parse(text: &str) -> Result<Profile> {
    let file: File = toml::from_str(text).map_err(|e| eyre!("{e}"))?;
    Ok(file.profile.default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_that_shape_bytecode() {
        let profile = parse(
            r#"
            [profile.default]
            src = "src"
            libs = ["../lib"]
            optimizer = true
            optimizer_runs = 200
            via_ir = true
            evm_version = "prague"
            bytecode_hash = "none"
            cbor_metadata = false
            remappings = ["a/=../lib/a/"]
            [profile.ci.fuzz]
            runs = 5
            "#,
        )
        .expect("valid");
        assert!(profile.via_ir && profile.optimizer && !profile.cbor_metadata);
        assert_eq!(profile.optimizer_runs, 200);
        assert_eq!(profile.remappings, vec!["a/=../lib/a/".to_string()]);
        assert_eq!(profile.bytecode_hash.as_deref(), Some("none"));
    }

    #[test]
    fn the_repository_profile_is_reproducible() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/foundry.toml");
        let profile = read(&path).expect("contracts/foundry.toml parses");
        assert_eq!(
            profile.bytecode_hash.as_deref(),
            Some("none"),
            "abi/ bytecode must not depend on paths or comments"
        );
        assert!(!profile.cbor_metadata);
    }

    #[test]
    fn a_broken_file_names_the_problem() {
        let err = parse("[profile.default]\noptimizer_runs = \"many\"").expect_err("bad type");
        assert!(err.to_string().contains("optimizer_runs"), "{err}");
    }
}
