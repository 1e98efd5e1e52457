//! The results of an `eh bench` run: a table for people, one JSON document for scripts.

use hdrhistogram::Histogram;

/// One direction's totals.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flow {
    pub events: u64,
    pub bytes: u64,
    pub seconds: f64,
}

impl Flow {
    fn per_sec(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }

    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "events": self.events,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "events_per_sec": round(self.per_sec(), 0),
            "mb_per_sec": round(self.mb_per_sec(), 2),
        })
    }
}

/// What was run and what it did.
#[derive(Debug)]
pub(super) struct Report {
    pub hub: String,
    pub embedded: bool,
    pub partitions: usize,
    pub producers: u16,
    pub consumers: u16,
    pub size: usize,
    pub batch: u64,
    pub sent: Option<Flow>,
    pub received: Option<Flow>,
    /// Microseconds from send to receive; empty when nothing was timed.
    pub latency: Histogram<u64>,
}

/// The latency percentiles reported.
const PERCENTILES: [(&str, f64); 4] =
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)];

fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

fn millis(micros: u64) -> f64 {
    round(micros as f64 / 1000.0, 3)
}

fn plural(n: u16, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl Report {
    /// Events sent but not received (when both ran).
    pub(super) fn missing(&self) -> u64 {
        match (self.sent, self.received) {
            (Some(s), Some(r)) => s.events.saturating_sub(r.events),
            _ => 0,
        }
    }

    pub(super) fn table(&self) -> String {
        let mut out = format!(
            "eh bench: hub {}{}, {} partitions; {}, {}; {}-byte events in batches of {}\n",
            self.hub,
            if self.embedded {
                " (embedded emulator)"
            } else {
                ""
            },
            self.partitions,
            plural(self.producers, "producer"),
            plural(self.consumers, "consumer"),
            self.size,
            self.batch,
        );
        out.push_str(&format!(
            "{:<10}{:>12}{:>14}{:>10}{:>10}\n",
            "", "events", "events/s", "MB/s", "seconds"
        ));
        for (name, flow) in [("sent", self.sent), ("received", self.received)] {
            if let Some(f) = flow {
                out.push_str(&format!(
                    "{name:<10}{:>12}{:>14.0}{:>10.2}{:>10.2}\n",
                    f.events,
                    f.per_sec(),
                    f.mb_per_sec(),
                    f.seconds
                ));
            }
        }
        if !self.latency.is_empty() {
            out.push_str("latency   ");
            for (name, q) in PERCENTILES {
                let at = self.latency.value_at_percentile(q);
                out.push_str(&format!("{name} {:.2} ms  ", millis(at)));
            }
            out.push_str(&format!(
                "max {:.2} ms  (send to receive, {} events)\n",
                millis(self.latency.max()),
                self.latency.len()
            ));
        }
        if self.missing() > 0 {
            out.push_str(&format!("missing   {} events\n", self.missing()));
        }
        out
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let latency = (!self.latency.is_empty()).then(|| {
            let mut l = serde_json::Map::new();
            for (name, q) in PERCENTILES {
                l.insert(
                    name.replace('.', "_"),
                    millis(self.latency.value_at_percentile(q)).into(),
                );
            }
            l.insert("max".into(), millis(self.latency.max()).into());
            l.insert("events".into(), self.latency.len().into());
            l
        });
        serde_json::json!({
            "hub": self.hub,
            "embedded": self.embedded,
            "partitions": self.partitions,
            "producers": self.producers,
            "consumers": self.consumers,
            "size": self.size,
            "batch": self.batch,
            "sent": self.sent.map(|f| f.json()),
            "received": self.received.map(|f| f.json()),
            "latency_ms": latency,
            "missing": self.missing(),
        })
    }
}
