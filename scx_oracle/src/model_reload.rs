//! SIGHUP reloads the oracle policy's model without detaching. Loading (ONNX Runtime session,
//! the native step's parity check) takes far longer than a scheduling round, so it happens on
//! this thread; the loop only swaps in a model that loaded, taken from a crossbeam channel.
//! A file that does not load reaches the loop as an error: logged, counted, and the old model
//! keeps deciding.
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use crossbeam::channel::{bounded, Receiver};
use oracle::{Backend, Scorer};
use signal_hook::consts::SIGHUP;
use signal_hook::iterator::{Handle, Signals};

pub struct ModelReloader {
    loaded: Receiver<Result<Scorer>>,
    signals: Handle,
    thread: Option<JoinHandle<()>>,
}

/// model/artifacts/oracle.onnx next to the binary's repository, or beside the binary (the
/// VM image puts it there).
pub fn bundled_model() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().unwrap_or(Path::new("."));
    let beside = dir.join("oracle.onnx");
    if beside.is_file() {
        return beside;
    }
    dir.ancestors()
        .map(|d| d.join("model/artifacts/oracle.onnx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("model/artifacts/oracle.onnx"))
}

impl ModelReloader {
    /// `path` None: the policy has no model, and SIGHUP only says so (rather than killing the
    /// agent, SIGHUP's default).
    pub fn start(path: Option<PathBuf>, backend: Backend) -> Result<ModelReloader> {
        let mut signals = Signals::new([SIGHUP]).context("installing the SIGHUP handler")?;
        let handle = signals.handle();
        let (tx, loaded) = bounded(1);
        let thread = std::thread::Builder::new()
            .name("model-reload".into())
            .spawn(move || {
                for _ in signals.forever() {
                    let Some(path) = &path else {
                        log::warn!("SIGHUP ignored: this policy has no model to reload");
                        continue;
                    };
                    log::info!("SIGHUP: loading {}", path.display());
                    // Timed here, off the scheduling loop, for a budget that follows the model.
                    let loaded = Scorer::load(path, backend).and_then(|mut s| {
                        s.step_cost(crate::policy::COST_ROUNDS)?;
                        Ok(s)
                    });
                    if tx.send(loaded).is_err() {
                        return;
                    }
                }
            })
            .context("starting the model reload thread")?;
        Ok(ModelReloader { loaded, signals: handle, thread: Some(thread) })
    }

    /// A model (or the reason it did not load) waiting to be swapped in.
    pub fn try_take(&self) -> Option<Result<Scorer>> {
        self.loaded.try_recv().ok()
    }
}

impl Drop for ModelReloader {
    fn drop(&mut self) {
        self.signals.close();
        // A load in progress finishes first; its result is dropped with the channel.
        while self.loaded.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
