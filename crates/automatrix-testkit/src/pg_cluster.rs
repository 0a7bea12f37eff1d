//! A PostgreSQL server of the test's own, for tests that stop and start the database (the
//! shared server of `AUTOMATRIX_TEST_POSTGRES_URL` serves other tests meanwhile and must stay
//! up). Made with the installed server binaries (`/usr/lib/postgresql/*/bin`): `initdb` into a
//! temporary directory, `pg_ctl start` on a free port of 127.0.0.1, trust authentication. As
//! root, the binaries run as the `postgres` user, since `initdb` refuses root.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// A running private cluster; stopped (immediately) and deleted when dropped.
pub struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl PrivateCluster {
    /// Initializes and starts a cluster. `None` (after saying the test is skipped) when no
    /// PostgreSQL server binaries are installed.
    ///
    /// # Panics
    /// When the binaries are there but the cluster cannot be made or started.
    pub async fn start() -> Option<Self> {
        let Some(bin) = server_binaries() else {
            println!(
                "skipped: no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("amx-pg-")
            .tempdir()
            .expect("temp dir");
        // `/proc/self` belongs to the process's effective user.
        let as_postgres = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        if as_postgres {
            let owned = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .await
                .expect("chown");
            assert!(owned.success(), "chown postgres {}", dir.path().display());
        }
        let cluster = Self {
            bin,
            port: free_port(),
            dir,
            as_postgres,
        };
        let data = cluster.data();
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )
            .await;
        cluster.start_server().await;
        Some(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are ended), waiting until it is down.
    pub async fn stop_server(&self) {
        let data = self.data();
        self.run("pg_ctl", &["stop", "-D", &data, "-m", "fast", "-w"])
            .await;
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub async fn start_server(&self) {
        let (data, log) = (self.data(), self.path("server.log"));
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let args = [
            "start", "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options,
        ];
        if !self
            .command("pg_ctl", &args)
            .status()
            .await
            .expect("pg_ctl")
            .success()
        {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("pg_ctl start failed; server log:\n{log}");
        }
    }

    fn data(&self) -> String {
        self.path("data")
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `tool` with `args`, as `postgres` when running as root, in the cluster's directory
    /// (which that user can enter), with no terminal input or output.
    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let tool = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(tool);
            cmd
        } else {
            Command::new(tool)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Runs `tool`, panicking with its output when it fails.
    async fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .unwrap_or_else(|e| panic!("running {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data();
        let stop = self.command("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
        let _ = stop.into_std().status();
    }
}

/// The newest installed server's `bin` directory that has `initdb` and `pg_ctl`.
fn server_binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| has(bin, "initdb") && has(bin, "pg_ctl"))
        .collect();
    // Version directories are numbers: the newest is the longest, then the largest.
    found.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    found.pop()
}

fn has(bin: &Path, tool: &str) -> bool {
    bin.join(tool).is_file()
}

/// A port of 127.0.0.1 free now (the server binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
