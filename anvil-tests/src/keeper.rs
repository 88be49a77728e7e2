//! A keeper process the tests start, kill and restart, with its own store and configuration.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use alloy::{node_bindings::AnvilInstance, primitives::Address, signers::local::PrivateKeySigner};

/// A keeper's settings that tests vary (the devnet's).
pub type KeeperOptions = herald_devnet::KeeperSettings;

/// A keeper process; killed when dropped.
pub struct KeeperProcess {
    child: Option<Child>,
    config: PathBuf,
    key: String,
    /// Its working directory (store, config, log).
    pub dir: tempfile::TempDir,
    /// Its address.
    pub address: Address,
    starts: u32,
    /// The fault it runs with (`HERALD_TEST_FAULT`, see [`crate::fault`]), if any.
    pub byzantine: Option<&'static str>,
    /// Where it serves its API (and the peer routes), if anywhere.
    pub api_listen: Option<std::net::SocketAddr>,
    /// More environment for the process (a gas wallet's key, say).
    env: Vec<(String, String)>,
}

impl KeeperProcess {
    /// Writes the keeper's configuration and starts it.
    pub fn start(
        anvil: &AnvilInstance,
        herald: Address,
        signer: &PrivateKeySigner,
        options: &KeeperOptions,
    ) -> Self {
        let mut keeper = Self::prepare(anvil, herald, signer, options);
        keeper.restart();
        keeper
    }

    /// Like [`start`](Self::start), with `gas` paying for the keeper's transactions
    /// (`keeper.gas_key_env`) instead of its signing key.
    pub fn start_paying_gas_from(
        anvil: &AnvilInstance,
        herald: Address,
        signer: &PrivateKeySigner,
        gas: &PrivateKeySigner,
        options: &KeeperOptions,
    ) -> Self {
        let mut keeper = Self::prepare(anvil, herald, signer, options);
        keeper.env = vec![
            ("HERALD_KEEPER__GAS_KEY_ENV".into(), "HERALD_GAS_KEY".into()),
            ("HERALD_GAS_KEY".into(), alloy::hex::encode(gas.to_bytes())),
        ];
        keeper.restart();
        keeper
    }

    /// Writes the configuration; the process is not started.
    fn prepare(
        anvil: &AnvilInstance,
        herald: Address,
        signer: &PrivateKeySigner,
        options: &KeeperOptions,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("keeper.toml");
        std::fs::write(
            &config,
            options.keeper_toml(anvil, herald, &dir.path().join("keeper.db")),
        )
        .expect("write keeper.toml");
        Self {
            child: None,
            config,
            key: alloy::hex::encode(signer.to_bytes()),
            dir,
            address: signer.address(),
            starts: 0,
            byzantine: None,
            api_listen: options.api_listen,
            env: Vec::new(),
        }
    }

    /// Like [`start`](Self::start), misbehaving as `mode` (see [`crate::fault::Fault::named`]).
    pub fn start_byzantine(
        anvil: &AnvilInstance,
        herald: Address,
        signer: &PrivateKeySigner,
        options: &KeeperOptions,
        mode: &'static str,
    ) -> Self {
        let mut keeper = Self::prepare(anvil, herald, signer, options);
        keeper.byzantine = Some(mode);
        keeper.restart();
        keeper
    }

    /// Rewrites the configuration with `options`, for the next [`restart`](Self::restart).
    pub fn reconfigure(&self, anvil: &AnvilInstance, herald: Address, options: &KeeperOptions) {
        std::fs::write(
            &self.config,
            options.keeper_toml(anvil, herald, &self.dir.path().join("keeper.db")),
        )
        .expect("rewrite keeper.toml");
    }

    /// Starts the process again (after [`kill`](Self::kill)); its log goes to `keeper-<n>.log`.
    pub fn restart(&mut self) {
        self.starts += 1;
        let log =
            std::fs::File::create(self.dir.path().join(format!("keeper-{}.log", self.starts)))
                .expect("log file");
        let mut command = Command::new(keeper_binary());
        if let Some(mode) = self.byzantine {
            command.env(crate::fault::FAULT_VAR, mode);
        }
        let child = command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg(&self.config)
            .env("HERALD_PRIVATE_KEY", &self.key)
            .env("RUST_LOG", "warn,herald_keeper=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the keeper");
        self.child = Some(child);
    }

    /// How the process ended, if it has.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()?
            .try_wait()
            .expect("the keeper's status")
    }

    /// Waits at most `timeout` for the process to end, and says how it did; panics with its log
    /// if it is still running.
    pub async fn wait_for_exit(
        &mut self,
        timeout: std::time::Duration,
        why: &str,
    ) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{why}\n{}",
                self.logs()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// SIGINT, as Ctrl-C sends: the keeper shuts down as it would for an operator.
    pub fn interrupt(&self) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -INT {}", child.id());
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Everything the keeper logged, across restarts (for failure messages).
    pub fn logs(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                std::fs::read_to_string(self.dir.path().join(format!("keeper-{n}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n--- restart ---\n")
    }

    /// The keeper's store.
    pub async fn store(&self) -> herald_store::Store {
        herald_store::Store::connect(&format!(
            "sqlite://{}",
            self.dir.path().join("keeper.db").display()
        ))
        .await
        .expect("open the keeper's store")
    }
}

/// The `test-keeper` binary: Cargo builds a package's binaries before running its integration
/// tests, into the directory above the tests' own (`target/<profile>/`).
fn keeper_binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test's path");
    let profile_dir = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    profile_dir.join(format!("test-keeper{}", std::env::consts::EXE_SUFFIX))
}

impl Drop for KeeperProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
