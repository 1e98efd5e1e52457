//! Noticing that nobody reads stdout any more (`eh receive | head -1` after `head` exits),
//! even while no event comes to write: the write end of a pipe reports an error condition
//! (`POLLERR`) once its reader is gone.

/// Resolves when stdout is a pipe whose reader has closed it; never for a terminal or a
/// file.
pub(crate) async fn closed() {
    #[cfg(unix)]
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // A thread of its own: poll(2) blocks, and there is one per process at most.
        let watching = std::thread::Builder::new()
            .name("eh-stdout-watch".into())
            .spawn(move || {
                let stdout = std::io::stdout();
                loop {
                    let mut fds = [rustix::event::PollFd::new(
                        &stdout,
                        rustix::event::PollFlags::empty(),
                    )];
                    match rustix::event::poll(&mut fds, None) {
                        Ok(_) => {
                            let seen = fds[0].revents();
                            if seen.intersects(
                                rustix::event::PollFlags::ERR | rustix::event::PollFlags::HUP,
                            ) {
                                let _ = tx.send(());
                                return;
                            }
                            if seen.contains(rustix::event::PollFlags::NVAL) {
                                return;
                            }
                        }
                        Err(rustix::io::Errno::INTR) => {}
                        Err(_) => return,
                    }
                }
            });
        if watching.is_ok() && rx.await.is_ok() {
            return;
        }
    }
    std::future::pending::<()>().await
}
