//! Developer tasks for the Herald repository.
//!
//! `cargo run -p xtask -- abi` compiles `contracts/` with foundry-compilers (through the solc-js
//! shim, so it works offline) using the settings in `contracts/foundry.toml`, and writes one trimmed
//! artifact per deployable contract to `abi/`: `{abi, bytecode.object, deployedBytecode.object}`,
//! which is what alloy's `sol!` macro reads. `--check` compiles the same way and fails, naming the
//! files, when `abi/` differs from what the sources produce.
//!
//! `cargo run -p xtask -- circles` fails, naming the files and the names that tie them, when the
//! source files of a crate under `crates/` import each other in a circle (see `circles`).

mod abi;
mod circles;
mod foundry_toml;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr};

#[derive(Parser)]
#[command(name = "xtask", about = "Herald developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile contracts/ and write abi/ (or, with --check, verify abi/ is current).
    Abi {
        /// Fail instead of writing when abi/ differs from a fresh compile.
        #[arg(long)]
        check: bool,
        /// The solc executable (defaults to $HERALD_SOLC, then tools/solc).
        #[arg(long)]
        solc: Option<PathBuf>,
    },
    /// Fail when the source files of a crate under crates/ import each other in a circle.
    Circles {
        /// Another checkout to look at (defaults to this repository).
        #[arg(long)]
        root: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = repo_root()?;
    match cli.command {
        Command::Abi { check, solc } => {
            let solc = solc
                .or_else(|| std::env::var_os("HERALD_SOLC").map(PathBuf::from))
                .unwrap_or_else(|| root.join("tools/solc"));
            let artifacts = abi::compile(&root.join("contracts"), &solc)?;
            let abi_dir = root.join("abi");
            if check {
                let problems = abi::check(&abi_dir, &artifacts)?;
                if !problems.is_empty() {
                    eyre::bail!(
                        "abi/ is stale ({}); run `cargo run -p xtask -- abi` and commit the result",
                        problems.join("; ")
                    );
                }
                println!("abi/ is current ({} artifacts)", artifacts.len());
            } else {
                abi::write(&abi_dir, &artifacts)?;
                println!("wrote {} artifacts to abi/", artifacts.len());
            }
        }
        Command::Circles { root: other } => {
            let (circles, files) = circles::find(other.as_ref().unwrap_or(&root))?;
            if !circles.is_empty() {
                for (n, circle) in circles.iter().enumerate() {
                    eprintln!("circle {}: {}", n + 1, circle.files.join(", "));
                    for (from, to, names) in &circle.edges {
                        eprintln!("  {from} -> {to}: {}", names.join(", "));
                    }
                }
                eyre::bail!("{} import circle(s) in crates/", circles.len());
            }
            println!("no import circles in crates/ ({files} files)");
        }
    }
    Ok(())
}

/// The workspace root: two levels above this crate's manifest.
fn repo_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .ok_or_else(|| {
            eyre::eyre!(
                "cannot find the repository root above {}",
                manifest.display()
            )
        })
        .wrap_err("locating the repository")
}
