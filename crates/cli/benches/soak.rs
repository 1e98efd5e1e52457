//! The soak and chaos runner: each scenario (cut, restart, service errors, tokens) for a while,
//! with our client's producers and consumers on 8 partitions, printing a Markdown table of
//! events sent, acknowledged, received, duplicates, lost, gaps, the longest stall and the
//! emulator's memory; and `scale`: 10,000 idle connections, then 1,000 busy ones (a sender
//! and a receiver each) for the run's length, with the emulator's memory per connection.
//! Not a test (`tests/soak.rs` runs a short version of each): run it with
//! `cargo bench -p eventhubs-cli --bench soak -- [cut|restart|errors|tokens|scale ...] [--seconds N]`.

#[path = "../tests/chaos/mod.rs"]
mod chaos;

use std::time::Duration;

use chaos::{Figures, Scenario};

fn main() {
    // Under `cargo test --all-targets` the runner only has to build (tests/soak.rs runs the
    // short versions).
    if !eventhubs_test_support::bench::invoked_by_cargo_bench() {
        return;
    }
    let mut seconds = 60;
    let mut scenarios = Vec::new();
    let mut scale = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds takes a number");
            }
            // What cargo bench passes through.
            "--bench" => {}
            "scale" => scale = true,
            other => match Scenario::parse(other) {
                Some(s) => scenarios.push(s),
                None => panic!("unknown scenario {other:?}: cut, restart, errors, tokens or scale"),
            },
        }
    }
    if scenarios.is_empty() && !scale {
        scenarios = vec![
            Scenario::Cut,
            Scenario::Restart,
            Scenario::ServiceErrors,
            Scenario::Tokens,
        ];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if !scenarios.is_empty() {
        println!("{}", Figures::HEADER);
    }
    for s in scenarios {
        let f = runtime.block_on(chaos::run(s, Duration::from_secs(seconds)));
        println!("{}", f.row());
    }
    if scale {
        let f = runtime.block_on(chaos::scale(10_000, 1_000, Duration::from_secs(seconds)));
        println!(
            "scale: {} idle connections, {} KiB each; {} busy connections for {:.0} s: {} \
             events sent, {} received, {} errors, {} KiB each",
            f.idle,
            f.per_idle_connection >> 10,
            f.busy,
            f.seconds,
            f.sent,
            f.received,
            f.errors,
            f.per_busy_connection >> 10
        );
    }
}
