//! Faults through the real binary: Ctrl-C, a killed run, a closed pipe and a full disk each end
//! cleanly, with a message and the documented exit code, and lose or invent nothing.

#![cfg(unix)]
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const POLICY: &str = "policies/storskog";

fn readmit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_readmit"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("readmit-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// The example batch, repeated with fresh ids: enough output to still be writing after a while.
fn big_batch(dir: &Path, copies: usize) -> PathBuf {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cases/storskog.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut text = String::new();
    for copy in 0..copies {
        for line in example.lines() {
            text.push_str(&line.replacen("\"id\": \"SK-", &format!("\"id\": \"C{copy}-SK-"), 1));
            text.push('\n');
        }
    }
    let path = dir.join("big.jsonl");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn wait_for(path: &Path, seconds: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    path.exists()
}

fn wait_exit(child: &mut Child, seconds: u64) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

fn grants(ledger: &Path) -> String {
    let out = readmit()
        .args(["ledger", "list", "--all", "--format", "json", "--ledger"])
        .arg(ledger)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ctrl_c_during_allocation_records_nothing_and_writes_no_output_file() {
    let dir = temp_dir("sigint");
    let ledger = dir.join("ledger.db");
    // One run first, so that the ledger has grants to keep as they are.
    let first = readmit()
        .args([
            "eval",
            POLICY,
            "--cases",
            "examples/cases/storskog.jsonl",
            "-q",
            "--ledger",
        ])
        .arg(&ledger)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.code(), Some(0));
    let before = grants(&ledger);
    let batch = big_batch(&dir, 3);
    let output = dir.join("decisions.jsonl");
    let mut child = readmit()
        .args(["eval", POLICY, "--cases"])
        .arg(&batch)
        .arg("--ledger")
        .arg(&ledger)
        .arg("--output")
        .arg(&output)
        .env("READMIT_LEDGER_HOLD_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        wait_for(&dir.join("ledger.db-journal"), 20),
        "the run reached its transaction"
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let code = wait_exit(&mut child, 10);
    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.take() {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            stderr.push_str(&line);
            stderr.push('\n');
        }
    }
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        stderr.contains("nothing was recorded in the ledger"),
        "{stderr}"
    );
    assert!(!output.exists(), "no half-written decisions file");
    assert_eq!(
        grants(&ledger),
        before,
        "the interrupted batch granted nothing"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_killed_run_leaves_no_decisions_file_that_looks_whole() {
    let dir = temp_dir("killed-output");
    let output = dir.join("decisions.jsonl");
    let mut child = readmit()
        .args([
            "eval",
            POLICY,
            "--cases",
            "examples/cases/storskog.jsonl",
            "--ledger",
        ])
        .arg(dir.join("ledger.db"))
        .arg("--output")
        .arg(&output)
        .env("READMIT_LEDGER_HOLD_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(wait_for(&dir.join("ledger.db-journal"), 20));
    let _ = child.kill();
    let _ = child.wait();
    assert!(!output.exists(), "the output appears only when complete");
}

#[test]
fn a_closed_pipe_ends_the_run_with_a_message_and_exit_code_2() {
    let dir = temp_dir("pipe");
    let batch = big_batch(&dir, 150);
    let mut child = readmit()
        .args(["eval", POLICY, "--cases"])
        .arg(&batch)
        .args(["--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Read one line, as `head -1` would, then close the pipe.
    if let Some(stdout) = child.stdout.take() {
        let mut first = String::new();
        let _ = BufReader::new(stdout).read_line(&mut first);
        assert!(first.starts_with("{\"line\":1,"), "{first}");
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write `standard output`"),
        "{stderr}"
    );
    assert!(stderr.contains("closed the pipe"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn other_commands_survive_a_closed_pipe_too() {
    let mut child = readmit()
        .args(["check", "--witnesses", POLICY])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("standard output could not be written"),
        "{stderr}"
    );
}

#[test]
fn a_full_disk_is_an_io_error_with_a_message() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here: skipped");
        return;
    };
    let output = readmit()
        .args([
            "eval",
            POLICY,
            "--cases",
            "examples/cases/storskog.jsonl",
            "--format",
            "jsonl",
        ])
        .stdout(full)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("the disk has room"), "{stderr}");
}

#[test]
fn a_batch_that_cannot_be_read_is_a_read_error_in_every_format() {
    // A folder opens but does not read; that once came out as "cannot write standard output".
    for format in ["jsonl", "json", "csv"] {
        let output = readmit()
            .args([
                "--error-format",
                "plain",
                "eval",
                POLICY,
                "--cases",
                "examples",
            ])
            .args(["--input-format", format, "--format", "jsonl"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{format}: {stderr}");
        assert!(
            stderr.contains("readmit::io::cannot_read")
                && stderr.contains("cannot read `examples`"),
            "{format}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{format}");
    }
}

// ---- faults in the middle of a batch, through the library ----------------------------------

mod midway {
    use std::io::{self, BufReader, Read};

    use readmit::engine::{
        BatchRun, CHUNK, InputError, InputFormat, RecordSink, Tally, read_batch,
    };
    use readmit::{Engine, EvalOptions, Record};

    fn engine() -> Engine {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(super::POLICY);
        Engine::load(&path).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Keeps the line of each record written, and fails once, on the `fail_at`-th (from 1):
    /// a transient failure (a full pipe, say), after which writes would succeed again.
    struct Sink {
        lines: Vec<u64>,
        fail_at: Option<usize>,
    }

    impl RecordSink for Sink {
        fn record(&mut self, _: Record) -> io::Result<()> {
            Err(io::Error::other("records mode is not used here"))
        }

        fn rendered(&mut self, bytes: &[u8], _: Tally) -> io::Result<()> {
            if self.fail_at == Some(self.lines.len() + 1) {
                self.fail_at = None;
                return Err(io::Error::other("the pipe is full"));
            }
            let record: serde_json::Value =
                serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}"));
            self.lines.push(record["line"].as_u64().unwrap_or(0));
            Ok(())
        }
    }

    /// Gives `data`, then fails once `limit` bytes were given.
    struct FailAfter {
        data: Vec<u8>,
        given: usize,
        limit: usize,
    }

    impl Read for FailAfter {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.given >= self.limit.min(self.data.len()) {
                return match self.given < self.data.len() {
                    true => Err(io::Error::other("the disk failed")),
                    false => Ok(0),
                };
            }
            let end = self
                .limit
                .min(self.data.len())
                .min(self.given + buffer.len());
            let part = &self.data[self.given..end];
            buffer[..part.len()].copy_from_slice(part);
            self.given = end;
            Ok(part.len())
        }
    }

    fn run(
        engine: &Engine,
        threads: usize,
        data: Vec<u8>,
        limit: usize,
        format: InputFormat,
        fail_at: Option<usize>,
    ) -> (Vec<u64>, Result<(), InputError>) {
        let mut run = BatchRun::new(engine, EvalOptions::default())
            .rendering_json()
            .with_threads(threads);
        let mut sink = Sink {
            lines: Vec::new(),
            fail_at,
        };
        let mut input = BufReader::with_capacity(
            512,
            FailAfter {
                data,
                given: 0,
                limit,
            },
        );
        let result = read_batch(&mut run, &mut input, format, &mut sink, &|_| {});
        // As the command line does after a batch cut short: every record read is decided and
        // written (records after a capped one wait for the allocation).
        if matches!(result, Err(InputError::Read(_))) {
            let finished = run.finish(&readmit::caps::NoLedger, &mut sink);
            assert!(finished.is_ok(), "{finished:?}");
        }
        (sink.lines, result)
    }

    #[test]
    fn a_failed_write_leaves_a_prefix_of_the_batch_on_any_number_of_threads() {
        // With two threads the next chunk, decided while the failing one was placed, was then
        // written after the gap.
        let engine = engine();
        let batch: String = (1..=20_000)
            .map(|i| format!("{{\"id\": \"X{i}\"}}\n"))
            .collect();
        for threads in [1, 2] {
            let (lines, result) = run(
                &engine,
                threads,
                batch.clone().into_bytes(),
                usize::MAX,
                InputFormat::Jsonl,
                Some(10),
            );
            assert!(
                matches!(result, Err(InputError::Io(_))),
                "{threads}: {result:?}"
            );
            assert!(
                lines == (1..=9).collect::<Vec<u64>>(),
                "{threads} threads: {} records written, the 10th of line {:?}",
                lines.len(),
                lines.get(9)
            );
        }
    }

    /// Sets a flag when it is given its first record, as Ctrl-C could at any moment.
    struct Interrupting(Sink, std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl RecordSink for Interrupting {
        fn record(&mut self, record: Record) -> io::Result<()> {
            self.0.record(record)
        }

        fn rendered(&mut self, bytes: &[u8], tally: Tally) -> io::Result<()> {
            self.1.store(true, std::sync::atomic::Ordering::SeqCst);
            self.0.rendered(bytes, tally)
        }
    }

    #[test]
    fn a_cancelled_batch_stops_at_the_next_chunk() {
        // `with_cancel` was once set by the command line and never looked at: Ctrl-C only took
        // effect once the whole batch had been read and decided.
        let engine = engine();
        let batch: String = (1..=20_000)
            .map(|i| format!("{{\"id\": \"X{i}\"}}\n"))
            .collect();
        for threads in [1, 2] {
            let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut run = BatchRun::new(&engine, EvalOptions::default())
                .rendering_json()
                .with_threads(threads)
                .with_cancel(flag.clone());
            let mut sink = Interrupting(
                Sink {
                    lines: Vec::new(),
                    fail_at: None,
                },
                flag,
            );
            let mut input = batch.as_bytes();
            let result = read_batch(&mut run, &mut input, InputFormat::Jsonl, &mut sink, &|_| {});
            assert!(
                matches!(&result, Err(InputError::Io(e)) if e.kind() == io::ErrorKind::Interrupted),
                "{threads} threads: {result:?}"
            );
            let lines = sink.0.lines;
            let placed = lines.len() as u64;
            // The chunks decided before the flag was seen, and nothing after them.
            assert!(
                placed < 20_000 && placed % CHUNK as u64 == 0,
                "{threads} threads: {placed}"
            );
            assert!(
                lines == (1..=placed).collect::<Vec<u64>>(),
                "{threads} threads: not a prefix"
            );
        }
    }

    #[test]
    fn no_record_is_taken_after_the_candidates_are() {
        let engine = engine();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(root.join("examples/cases/storskog.jsonl"))
            .unwrap_or_else(|e| panic!("{e}"));
        for threads in [1, 2] {
            let mut run = BatchRun::new(&engine, EvalOptions::default())
                .rendering_json()
                .with_threads(threads);
            let mut sink = Sink {
                lines: Vec::new(),
                fail_at: None,
            };
            let mut input = data.as_slice();
            let read = read_batch(&mut run, &mut input, InputFormat::Jsonl, &mut sink, &|_| {});
            assert!(read.is_ok(), "{read:?}");
            let _ = run.candidates(&mut sink).unwrap_or_else(|e| panic!("{e}"));
            // Its ids were let go: a record now could not be told a duplicate.
            let mut input = data.as_slice();
            let late = read_batch(&mut run, &mut input, InputFormat::Jsonl, &mut sink, &|_| {});
            assert!(
                matches!(&late, Err(InputError::Io(e)) if e.to_string().contains("candidates were taken")),
                "{threads} threads: {late:?}"
            );
        }
    }

    #[test]
    fn a_read_failure_midway_places_what_was_read_and_is_a_read_error_in_every_format() {
        let engine = engine();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (file, format, first_line) in [
            ("examples/cases/storskog.jsonl", InputFormat::Jsonl, 1),
            ("examples/cases/storskog.csv", InputFormat::Csv, 2),
        ] {
            let data = std::fs::read(root.join(file)).unwrap_or_else(|e| panic!("{e}"));
            let limit = data.len() / 2;
            // The lines wholly before the failure.
            let whole = data[..limit].iter().filter(|&&b| b == b'\n').count() as u64;
            for threads in [1, 2] {
                let (lines, result) = run(&engine, threads, data.clone(), limit, format, None);
                // A CSV row failing midway was taken for a bad row, and the batch for whole.
                assert!(
                    matches!(result, Err(InputError::Read(_))),
                    "{file}: {result:?}"
                );
                let last = lines.last().copied().unwrap_or(0);
                assert!(
                    lines == (first_line..=last).collect::<Vec<u64>>(),
                    "{file}, {threads} threads: not a prefix of the batch"
                );
                // Every whole record before the failure is placed (CSV reads one row ahead).
                assert!(last + 1 >= whole, "{file}: {last} of {whole} lines placed");
            }
        }
    }
}
