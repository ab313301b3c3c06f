//! Shutdown as a type, handed to every task that must stop cleanly.

use tokio::sync::watch;

/// A cloneable view of "are we stopping?".
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// The side that starts the shutdown.
pub struct Trigger {
    tx: watch::Sender<bool>,
}

pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger { tx }, Shutdown { rx })
}

impl Trigger {
    pub fn fire(&self) {
        let _ = self.tx.send(true);
    }
}

impl Shutdown {
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has begun.
    pub async fn wait(mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// SIGTERM and SIGINT, registered once at start so none is missed between
/// two waits.
pub struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

/// SIGHUP, registered once at start.
pub struct ReloadSignal {
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

/// The daemon's signals: stop (SIGTERM/SIGINT) and reload (SIGHUP).
#[cfg(unix)]
pub fn signals() -> (StopSignals, ReloadSignal) {
    use tokio::signal::unix::{signal, SignalKind};
    (
        StopSignals { term: signal(SignalKind::terminate()).ok(), int: signal(SignalKind::interrupt()).ok() },
        ReloadSignal { hup: signal(SignalKind::hangup()).ok() },
    )
}

#[cfg(not(unix))]
pub fn signals() -> (StopSignals, ReloadSignal) {
    (StopSignals {}, ReloadSignal {})
}

#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal.as_mut() {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

impl StopSignals {
    /// The next SIGTERM or SIGINT.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = next(&mut self.term) => "SIGTERM",
                _ = next(&mut self.int) => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            signal().await
        }
    }
}

impl ReloadSignal {
    /// The next SIGHUP.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        next(&mut self.hup).await;
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}
