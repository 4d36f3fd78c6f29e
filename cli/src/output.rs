//! Terminal concerns: colour, where output goes, progress bars, error messages.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour output written to stdout (when `to_stdout`) or to a file.
    pub fn enabled(self, to_stdout: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                to_stdout
                    && io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }
}

/// Where a command's report goes: a file (`--output`) or stdout.
pub fn sink(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot write the report to `{}`", path.display())
            })?))
        }
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// Prints an error that stopped Charter, with its causes, on stderr.
pub fn error(error: &anyhow::Error) {
    let color =
        std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr().is_terminal();
    let mut err = io::stderr().lock();
    let label = if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    let _ = writeln!(err, "{label}: {error}");
    for cause in error.chain().skip(1) {
        let _ = writeln!(err, "  caused by: {cause}");
    }
}

/// A progress bar on stderr that appears only when stderr is a terminal and the work
/// takes more than a moment.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    done: Arc<AtomicBool>,
}

impl Progress {
    /// A bar for work described by `what` ("contracts").
    pub fn new(what: &'static str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{{spinner}} checking {what} [{{bar:30}}] {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        )) {
            bar.set_style(style.progress_chars("=> "));
        }
        let done = Arc::new(AtomicBool::new(false));
        if io::stderr().is_terminal() {
            let (bar, done) = (bar.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                if !done.load(Ordering::Acquire) {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                }
            });
        }
        Self { bar, done }
    }
}

impl charter_engine::check::Progress for Progress {
    fn start(&self, total: usize) {
        self.bar.set_length(total as u64);
    }
    fn advance(&self) {
        self.bar.inc(1);
    }
    fn finish(&self) {
        self.done.store(true, Ordering::Release);
        self.bar.finish_and_clear();
    }
}
