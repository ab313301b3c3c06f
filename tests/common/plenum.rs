//! Running the real `plenum` binary: one-shot commands with a time limit, and
//! the `run` daemon with its listening address read from its log.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{self, HttpResponse};
use super::logfmt::{self, PollLine};

/// No single command in this suite should take longer; a hang fails the
/// test instead of stalling `cargo test`.
pub const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(60);

pub fn plenum_binary() -> &'static str {
    env!("CARGO_BIN_EXE_plenum")
}

/// A finished `plenum` command.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The whole exchange, for assertion messages.
    pub fn describe(&self) -> String {
        format!("exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A config file with its own data and output directories, in a fresh
/// temporary directory. Commands run from a *different* working directory,
/// so relative paths only work if resolved against the config file.
pub struct Sandbox {
    dir: tempfile::TempDir,
    elsewhere: tempfile::TempDir,
    pub config: PathBuf,
}

impl Sandbox {
    pub fn new(config_toml: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let elsewhere = tempfile::tempdir().expect("temp dir for the working directory");
        let config = dir.path().join("plenum.toml");
        std::fs::write(&config, config_toml).expect("write plenum.toml");
        Sandbox { dir, elsewhere, config }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes another file next to `plenum.toml` (an include, say).
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write sandbox file");
        path
    }

    pub fn rewrite_config(&self, config_toml: &str) {
        std::fs::write(&self.config, config_toml).expect("rewrite plenum.toml");
    }

    /// `plenum --config <sandbox>/plenum.toml <args...>`
    pub fn plenum(&self, args: &[&str]) -> Run {
        let mut full = vec!["--config", self.config.to_str().expect("utf-8 temp path")];
        full.extend_from_slice(args);
        run_plenum(&full, self.elsewhere.path())
    }

    /// Runs `poll-once`, requires exit 0 and returns its report lines.
    pub fn poll_once(&self) -> Vec<PollLine> {
        let run = self.plenum(&["poll-once"]);
        assert_eq!(run.code, Some(0), "poll-once should exit 0\n{}", run.describe());
        logfmt::parse_lines(&run.stdout)
    }

    pub fn merged_feed_path(&self) -> PathBuf {
        self.path().join("public").join("feed.atom")
    }

    pub fn party_feed_path(&self, party: &str) -> PathBuf {
        self.path().join("public").join("parties").join(format!("{party}.atom"))
    }

    pub fn merged_feed(&self) -> atom_syndication::Feed {
        super::atom::read(&self.merged_feed_path())
    }

    pub fn party_feed(&self, party: &str) -> atom_syndication::Feed {
        super::atom::read(&self.party_feed_path(party))
    }

    pub fn start_daemon(&self) -> Daemon {
        Daemon::start(&self.config, self.elsewhere.path(), &[])
    }

    /// `plenum run` with extra environment variables (NOTIFY_SOCKET, say).
    pub fn start_daemon_with_env(&self, env: &[(&str, &str)]) -> Daemon {
        Daemon::start(&self.config, self.elsewhere.path(), env)
    }
}

/// Runs the binary with `args` from `cwd`, capturing everything, killing it
/// if it outlives [`COMMAND_TIME_LIMIT`].
pub fn run_plenum(args: &[&str], cwd: &Path) -> Run {
    let mut child = command(cwd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", plenum_binary()));
    let stdout = drain(child.stdout.take().expect("stdout pipe"));
    let stderr = drain(child.stderr.take().expect("stderr pipe"));
    let deadline = Instant::now() + COMMAND_TIME_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for plenum") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "plenum {args:?} did not finish within {COMMAND_TIME_LIMIT:?}; stderr so far:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
    }
}

fn command(cwd: &Path) -> Command {
    let mut cmd = Command::new(plenum_binary());
    cmd.current_dir(cwd)
        // The tests read the daemon's log; keep it plain and at its default level.
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        // Nothing here may go through a proxy: the fixture server is local.
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    cmd
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Removes ANSI colour sequences, in case the log is coloured anyway.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `plenum run`. Killed (SIGKILL) on drop if still running.
pub struct Daemon {
    child: Option<Child>,
    /// `127.0.0.1:PORT`, from the "serving feeds on" log line.
    pub host_port: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// How long the daemon may take to start listening or to publish.
pub const DAEMON_TIME_LIMIT: Duration = Duration::from_secs(30);

impl Daemon {
    fn start(config: &Path, cwd: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = command(cwd)
            .envs(env.iter().copied())
            .args(["--config", config.to_str().expect("utf-8 path"), "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", plenum_binary()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        for pipe in [
            Box::new(child.stderr.take().expect("stderr")) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
        ] {
            let log = Arc::clone(&log);
            let tx = tx.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let line = strip_ansi(&line);
                    log.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);

        let mut daemon = Daemon { child: Some(child), host_port: String::new(), log };
        let deadline = Instant::now() + DAEMON_TIME_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(host_port) = listening_address(&line) {
                        daemon.host_port = host_port;
                        return daemon;
                    }
                }
                Err(_) => {
                    let status = daemon.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
                    panic!(
                        "plenum run never logged \"serving feeds on http://127.0.0.1:PORT/\" (exit status so far: {status:?}); log:\n{}",
                        daemon.log()
                    );
                }
            }
        }
    }

    /// Everything the daemon has written so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http::request(&self.host_port, method, path, headers)
            .unwrap_or_else(|e| panic!("{method} {path} to the daemon failed: {e}\nlog:\n{}", self.log()))
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, &[])
    }

    /// Polls `GET path` until `ready` accepts the response; panics with the
    /// last response and the log after [`DAEMON_TIME_LIMIT`].
    pub fn wait_for(&self, path: &str, what: &str, ready: impl Fn(&HttpResponse) -> bool) -> HttpResponse {
        let deadline = Instant::now() + DAEMON_TIME_LIMIT;
        loop {
            let last = http::get(&self.host_port, path);
            if let Ok(response) = &last {
                if ready(response) {
                    return last.unwrap();
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {DAEMON_TIME_LIMIT:?} for {what} at {path}; last response: {:?}\nlog:\n{}",
                    last.map(|r| (r.status, r.text())),
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `/feed.atom` parses and shows exactly `titles` (sorted).
    pub fn wait_for_titles(&self, path: &str, titles: &[String]) -> atom_syndication::Feed {
        let response = self.wait_for(path, &format!("the entries {titles:?}"), |r| {
            r.status == 200 && r.text().parse::<atom_syndication::Feed>().map(|f| super::atom::titles(&f) == titles).unwrap_or(false)
        });
        super::atom::parse(&response.text(), path)
    }

    /// Sends a signal (by name, such as "HUP") and leaves the daemon running.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([&format!("-{signal}"), &self.pid().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon still owned").id()
    }

    /// Sends SIGTERM and waits for the exit; returns the status and the log.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.stop_with("-TERM")
    }

    /// Sends `signal` (as kill(1) spells it, e.g. `-INT`) and waits for the exit.
    pub fn stop_with(mut self, signal: &str) -> (ExitStatus, String) {
        let pid = self.pid().to_string();
        let kill = Command::new("kill").args([signal, &pid]).status().expect("run kill(1)");
        assert!(kill.success(), "kill {signal} {pid} failed");
        let mut child = self.child.take().expect("daemon still owned");
        let deadline = Instant::now() + DAEMON_TIME_LIMIT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for daemon") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("plenum run did not stop within {DAEMON_TIME_LIMIT:?} of kill {signal}; log:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(10));
        };
        (status, self.log())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `127.0.0.1:PORT` from a line containing `serving feeds on http://127.0.0.1:PORT/`.
pub fn listening_address(line: &str) -> Option<String> {
    let start = line.find("serving feeds on http://")? + "serving feeds on http://".len();
    let rest = &line[start..];
    let end = rest.find('/')?;
    let host_port = &rest[..end];
    host_port.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok_and(|p| p != 0)).map(|_| host_port.to_string())
}
