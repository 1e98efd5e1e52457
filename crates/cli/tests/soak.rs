//! Twenty seconds of each soak and chaos scenario (the `soak` benchmark runs them for
//! longer and prints the figures): no acknowledged event lost, no gap in any partition,
//! stalls within the retry policy's longest delay plus a second (a killed emulator's
//! restart included), every management request answered in the end, and
//! short-lived tokens renewed. One scenario at a time: they share two cores.

mod chaos;

use std::time::Duration;

use chaos::{retry, run, Figures, Scenario};

/// Held by each test for its whole run, so the scenarios do not compete for the CPU.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn check(f: &Figures) {
    eprintln!("{}\n{}", Figures::HEADER, f.row());
    assert!(f.acknowledged > 10_000, "traffic flowed: {f:?}");
    assert!(f.faults >= 1, "faults were injected: {f:?}");
    assert_eq!(f.lost, 0, "acknowledged events lost: {f:?}");
    assert_eq!(f.gaps, 0, "gaps in a partition: {f:?}");
    assert_eq!(f.failed_management, 0, "{f:?}");
    let bound = retry().max_delay + Duration::from_secs(1);
    assert!(
        f.longest_stall <= bound,
        "stalled {:?} (bound {bound:?}): {f:?}",
        f.longest_stall
    );
}

/// Runs `scenario` for 20 s on its own and checks the figures every scenario must meet.
async fn twenty_seconds_of(scenario: Scenario) -> Figures {
    let _turn = ONE_AT_A_TIME.lock().await;
    let f = run(scenario, Duration::from_secs(20)).await;
    check(&f);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_every_two_seconds() {
    let f = twenty_seconds_of(Scenario::Cut).await;
    assert!(f.faults >= 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_restart_every_ten_seconds() {
    twenty_seconds_of(Scenario::Restart).await;
}

/// Tokens of a third of the run (about 7 s) renewed on every connection: at least two
/// rounds of renewals, and no link ended by a lapsed token (that would show as a stall).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens() {
    let f = twenty_seconds_of(Scenario::Tokens).await;
    // 9 clients (4 producers, 4 consumers, 1 for management), each authorizing a few links.
    assert!(f.faults >= 3 * 9, "tokens were renewed: {f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors() {
    twenty_seconds_of(Scenario::ServiceErrors).await;
}

/// 2,000 idle connections and 200 busy ones (a sender and a receiver each) for 5 s: no
/// error, and the emulator's memory per idle connection within its stated bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let f = chaos::scale(2000, 200, Duration::from_secs(5)).await;
    eprintln!("{f:?}");
    assert_eq!(f.errors, 0, "{f:?}");
    assert!(f.sent >= 200 * 40 && f.received >= f.sent, "{f:?}");
    assert!(f.per_idle_connection <= 64 * 1024, "{f:?}");
}
