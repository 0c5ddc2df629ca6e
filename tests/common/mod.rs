//! Starts the real `glosa` binary on a free loopback port with a temporary
//! data dir and a temporary copy of `content/`, for integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(60);

pub struct Server {
    pub child: Child,
    pub base: String,
    pub addr: String,
    pub data: PathBuf,
    pub content: PathBuf,
    /// Everything the server printed on stdout and stderr so far.
    pub output: std::sync::Arc<std::sync::Mutex<String>>,
    _dirs: Vec<tempfile::TempDir>,
}

/// A temporary copy of the bundled `content/`.
pub fn content_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("content")).expect("content/")
    {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    /// Starts a server on fresh temp dirs holding a copy of `content/`.
    pub fn start() -> Server {
        let content = content_copy();
        let data = tempfile::tempdir().expect("temp dir");
        let (c, d) = (content.path().to_path_buf(), data.path().to_path_buf());
        let mut s = Server::start_on(&c, &d, free_port());
        s._dirs = vec![content, data];
        s
    }

    /// Starts a server on the given dirs and port and waits until it serves.
    pub fn start_on(content: &Path, data: &Path, port: u16) -> Server {
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_glosa"))
            .args(["serve", "--addr", &addr])
            .arg("--data")
            .arg(data)
            .arg("--content")
            .arg(content)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start glosa");
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = output.clone();
            let ready_tx = ready_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut o) = output.lock() {
                        o.push_str(&line);
                        o.push('\n');
                    }
                    // After recording it, so "ready" implies it is in `output`.
                    if line.starts_with("listening on") {
                        let _ = ready_tx.send(());
                    }
                }
            });
        }
        let server = Server {
            child,
            base: format!("http://{addr}"),
            addr,
            data: data.to_path_buf(),
            content: content.to_path_buf(),
            output,
            _dirs: Vec::new(),
        };
        if ready_rx.recv_timeout(WAIT).is_err() {
            panic!("glosa did not start:\n{}", server.output());
        }
        server
    }

    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits until the server has printed `needle` (stdout and stderr are
    /// read by separate threads, so a log line may trail "listening on").
    /// Returns everything printed so far; panics with it after [`WAIT`].
    pub fn wait_output(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.output();
            if out.contains(needle) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "the server never printed {needle:?}:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `GET path`, the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        client()
            .get(self.url(path))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("a text body")
    }

    /// `GET path`, the body as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        client()
            .get(self.url(path))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "glosa did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keeps the temp dirs alive beyond this server (for a restart).
    pub fn take_dirs(&mut self) -> Vec<tempfile::TempDir> {
        std::mem::take(&mut self._dirs)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("http client")
}
