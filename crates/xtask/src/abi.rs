//! Compiling `contracts/` and exporting trimmed artifacts to `abi/`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    str::FromStr,
};

use eyre::{Result, WrapErr, bail, eyre};
use foundry_compilers::{
    ConfigurableArtifacts, ProjectBuilder, ProjectPathsConfig,
    artifacts::{
        BytecodeHash, BytecodeObject, EvmVersion, Remapping, SettingsMetadata,
        output_selection::OutputSelection,
    },
    compilers::solc::{Solc, SolcCompiler, SolcLanguage, SolcSettings},
};
use serde_json::{Value, json};

use crate::foundry_toml;

/// The artifacts to write, by contract name, as pretty JSON text.
pub type Artifacts = BTreeMap<String, String>;

/// Compiles the Foundry project at `root` with `solc` and returns one trimmed artifact per deployable
/// contract under its `src` folder.
pub fn compile(root: &Path, solc: &Path) -> Result<Artifacts> {
    let profile = foundry_toml::read(&root.join("foundry.toml"))?;
    let src = root.join(&profile.src);
    let remappings = profile
        .remappings
        .iter()
        .map(|r| absolute_remapping(root, r))
        .collect::<Result<Vec<_>>>()?;

    let paths: ProjectPathsConfig<SolcLanguage> = ProjectPathsConfig::builder()
        .root(root)
        .sources(&src)
        .libs(profile.libs.iter().map(|l| root.join(l)))
        .remappings(remappings.clone())
        .build_with_root(root);

    let mut settings = SolcSettings::default();
    settings.settings.remappings = remappings;
    settings.settings.optimizer.enabled = Some(profile.optimizer);
    settings.settings.optimizer.runs = Some(profile.optimizer_runs);
    settings.settings.via_ir = profile.via_ir.then_some(true);
    if let Some(evm) = &profile.evm_version {
        settings.settings.evm_version =
            Some(EvmVersion::from_str(evm).map_err(|e| eyre!("evm_version {evm:?}: {e}"))?);
    }
    settings.settings.metadata = Some(SettingsMetadata {
        use_literal_content: None,
        bytecode_hash: profile
            .bytecode_hash
            .as_deref()
            .map(BytecodeHash::from_str)
            .transpose()
            .map_err(|e| eyre!("bytecode_hash: {e}"))?,
        cbor_metadata: Some(profile.cbor_metadata),
    });
    settings.settings.output_selection = OutputSelection::common_output_selection([
        "abi".to_string(),
        "evm.bytecode.object".to_string(),
        "evm.deployedBytecode.object".to_string(),
    ]);

    let solc = Solc::new(solc).wrap_err_with(|| format!("starting solc at {}", solc.display()))?;
    let project = ProjectBuilder::<SolcCompiler, ConfigurableArtifacts>::new(Default::default())
        .paths(paths)
        .settings(settings)
        .ephemeral()
        .no_artifacts()
        .offline()
        .build(SolcCompiler::Specific(solc))
        .wrap_err("configuring the Foundry project")?;
    let output = project.compile().wrap_err("compiling contracts/")?;
    if output.has_compiler_errors() {
        bail!("solc reported errors:\n{output}");
    }

    let mut artifacts = Artifacts::new();
    for (file, name, contract) in output.into_output().contracts.into_contracts_with_files() {
        let file = if file.is_absolute() {
            file
        } else {
            root.join(file)
        };
        if !file.starts_with(&src) {
            continue; // libraries and tests are not ours to deploy
        }
        let Some(evm) = contract.evm else { continue };
        let bytecode = hex_of(&name, evm.bytecode.map(|b| b.object))?;
        let deployed = hex_of(
            &name,
            evm.deployed_bytecode
                .and_then(|d| d.bytecode)
                .map(|b| b.object),
        )?;
        if bytecode == "0x" {
            continue; // abstract contracts and interfaces
        }
        let artifact = json!({
            "abi": contract.abi.unwrap_or_default(),
            "bytecode": { "object": bytecode },
            "deployedBytecode": { "object": deployed },
        });
        if artifacts.insert(name.clone(), render(&artifact)?).is_some() {
            bail!("two deployable contracts are named {name}; abi/ needs unique names");
        }
    }
    if artifacts.is_empty() {
        bail!("no deployable contract found under {}", src.display());
    }
    Ok(artifacts)
}

/// Writes the artifacts to `dir`, removing artifacts of contracts that no longer exist.
pub fn write(dir: &Path, artifacts: &Artifacts) -> Result<()> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    for stale in existing(dir)?
        .into_keys()
        .filter(|name| !artifacts.contains_key(name))
    {
        let path = artifact_path(dir, &stale);
        std::fs::remove_file(&path).wrap_err_with(|| format!("removing {}", path.display()))?;
    }
    for (name, text) in artifacts {
        let path = artifact_path(dir, name);
        std::fs::write(&path, text).wrap_err_with(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Compares `dir` with the artifacts; returns one line per difference (empty when current).
pub fn check(dir: &Path, artifacts: &Artifacts) -> Result<Vec<String>> {
    let on_disk = existing(dir)?;
    let mut problems = Vec::new();
    for (name, text) in artifacts {
        match on_disk.get(name) {
            None => problems.push(format!("abi/{name}.json is missing")),
            Some(current) if current != text => problems.push(format!("abi/{name}.json differs")),
            Some(_) => {}
        }
    }
    for name in on_disk.keys().filter(|name| !artifacts.contains_key(*name)) {
        problems.push(format!("abi/{name}.json has no contract"));
    }
    Ok(problems)
}

fn existing(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&path)
                .wrap_err_with(|| format!("reading {}", path.display()))?;
            found.insert(name, text);
        }
    }
    Ok(found)
}

fn artifact_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// `0x`-prefixed hex of linked bytecode; Herald links no libraries, so unlinked code is an error.
fn hex_of(contract: &str, object: Option<BytecodeObject>) -> Result<String> {
    match object {
        None => Ok("0x".into()),
        Some(BytecodeObject::Bytecode(bytes)) => Ok(bytes.to_string()),
        Some(BytecodeObject::Unlinked(_)) => {
            bail!("{contract} needs library linking, which abi/ artifacts do not support")
        }
    }
}

fn render(value: &Value) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// A remapping from foundry.toml, its target made absolute against the Foundry root.
fn absolute_remapping(root: &Path, text: &str) -> Result<Remapping> {
    let (prefix, target) = text
        .split_once('=')
        .ok_or_else(|| eyre!("remapping {text:?} has no '=' (expected prefix=path)"))?;
    let mut path = root.join(target).to_string_lossy().into_owned();
    if target.ends_with('/') && !path.ends_with('/') {
        path.push('/');
    }
    Remapping::from_str(&format!("{prefix}={path}")).map_err(|e| eyre!("remapping {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifacts(pairs: &[(&str, &str)]) -> Artifacts {
        pairs
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn check_reports_missing_changed_and_orphaned_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            &artifacts(&[("A", "a\n"), ("B", "b\n"), ("C", "c\n")]),
        )
        .expect("write");
        assert!(
            check(
                dir.path(),
                &artifacts(&[("A", "a\n"), ("B", "b\n"), ("C", "c\n")])
            )
            .expect("check")
            .is_empty()
        );

        let problems = check(
            dir.path(),
            &artifacts(&[("A", "a\n"), ("B", "changed\n"), ("D", "d\n")]),
        )
        .expect("check");
        assert_eq!(
            problems,
            vec![
                "abi/B.json differs",
                "abi/D.json is missing",
                "abi/C.json has no contract"
            ]
        );
    }

    #[test]
    fn write_removes_artifacts_of_deleted_contracts() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), &artifacts(&[("Old", "x\n")])).expect("write");
        write(dir.path(), &artifacts(&[("New", "y\n")])).expect("write");
        assert!(!dir.path().join("Old.json").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("New.json")).expect("read"),
            "y\n"
        );
    }

    #[test]
    fn remappings_resolve_against_the_foundry_root() {
        let r =
            absolute_remapping(Path::new("/repo/contracts"), "lib/=../.tools/lib/").expect("valid");
        assert_eq!(r.name, "lib/");
        assert_eq!(r.path, "/repo/contracts/../.tools/lib/");
        let err = absolute_remapping(Path::new("/r"), "nonsense").expect_err("no =");
        assert!(err.to_string().contains("prefix=path"), "{err}");
    }
}
