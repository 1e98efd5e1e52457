//! `eh send`: events from stdin (one per line, or per delimiter), `--data`, `--file`s or
//! generated load, batched to the link's size limit with several batches in flight.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eventhubs::{CreateBatchOptions, EventData, EventDataBatch, ProducerClient, TryAddReason};
use tokio::task::JoinSet;

use crate::connect::ConnectArgs;
use crate::fail::Failure;
use crate::progress::Progress;

/// Options of `eh send`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    seq 1000 | eh send -c \"$CS\"                  one event per line\n  \
    echo 'user1:hello' | eh send -K :            key user1, body hello\n  \
    eh send --data '{\"a\":1}' --content-type application/json --property source=cli\n  \
    eh send --count 1000000 --size 100 --partition 0")]
pub(crate) struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Send this one event (instead of reading stdin).
    #[arg(long, conflicts_with_all = ["file", "count"])]
    data: Option<String>,
    /// Send this file as one event (repeatable).
    #[arg(long, conflicts_with = "count")]
    file: Vec<PathBuf>,
    /// Send this many generated events (instead of reading stdin).
    #[arg(long)]
    count: Option<u64>,
    /// With --count: the size of each generated body in bytes.
    #[arg(long, default_value_t = 100, requires = "count")]
    size: usize,
    /// The byte that ends each event on stdin.
    #[arg(long, default_value = "\\n", value_parser = delimiter)]
    delimiter: u8,
    /// Events on stdin end with NUL bytes (as `find -print0` writes them).
    #[arg(short = '0', conflicts_with = "delimiter")]
    nul: bool,
    /// Send to this partition.
    #[arg(long, conflicts_with_all = ["partition_key", "key_delimiter"])]
    partition: Option<String>,
    /// Send with this partition key.
    #[arg(long, conflicts_with = "key_delimiter")]
    partition_key: Option<String>,
    /// Split each input at the first C into partition key and body (as kcat's -K).
    #[arg(short = 'K', value_name = "C", value_parser = delimiter)]
    key_delimiter: Option<u8>,
    /// An application property k=v on every event (repeatable).
    #[arg(long = "property", value_name = "K=V", value_parser = property)]
    properties: Vec<(String, String)>,
    /// The content type of every event.
    #[arg(long)]
    content_type: Option<String>,
    /// At most this many events per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Batches in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    in_flight: u16,
}

fn delimiter(s: &str) -> Result<u8, String> {
    let s = match s {
        "\\n" => "\n",
        "\\t" => "\t",
        "\\0" => "\0",
        s => s,
    };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(format!(
            "{s:?} is not one byte (\\n, \\t and \\0 are allowed)"
        )),
    }
}

fn property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not k=v")),
    }
}

/// An input: its partition key (with -K) and body.
type Input = (Option<String>, Vec<u8>);

/// How many inputs travel from the reading thread to the sender at once.
const CHUNK: usize = 1024;

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    args.connect.init_logging()?;
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(Failure::usage(
            "--rate must be a positive number of events per second",
        ));
    }
    let producer = args.connect.producer()?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<Input>>>(16);
    let reader = spawn_reader(&args, tx)?;
    let started = Instant::now();
    // Known for generated load, --data and --files; stdin has no total.
    let total = match (&args.data, args.file.len(), args.count) {
        (Some(_), _, _) => Some(1),
        (None, 0, count) => count,
        (None, files, _) => Some(files as u64),
    };
    let mut sender = Sender::new(&producer, &args, Progress::new(total));
    let outcome = async {
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk.map_err(|e| Failure::runtime(format!("reading the input: {e}")))?;
            for (key, body) in chunk {
                sender.add(key, body).await?;
                if let Some(rate) = args.rate {
                    let due = started + Duration::from_secs_f64(sender.added as f64 / rate);
                    if due > Instant::now() {
                        sender.flush_all().await?;
                        tokio::time::sleep_until(due.into()).await;
                    }
                }
            }
        }
        sender.flush_all().await?;
        sender.wait_all().await
    }
    .await;
    drop(rx);
    let _ = reader.join();
    sender.progress.finish();
    let secs = started.elapsed().as_secs_f64();
    let (n, bytes) = (sender.sent, sender.sent_bytes);
    eprintln!(
        "sent {n} events ({bytes} bytes) in {secs:.2} s, {:.0} events/s",
        n as f64 / secs.max(1e-9)
    );
    producer.close().await;
    outcome
}

/// Reads the inputs on a thread of their own (stdin and files block) and hands them over
/// in chunks; the bounded channel holds the reader back when sending is slower.
fn spawn_reader(
    args: &Args,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Vec<Input>>>,
) -> Result<std::thread::JoinHandle<()>, Failure> {
    enum Source {
        Data(String),
        Files(Vec<PathBuf>),
        Generated(u64, usize),
        Stdin(u8),
    }
    let source = if let Some(d) = &args.data {
        Source::Data(d.clone())
    } else if !args.file.is_empty() {
        Source::Files(args.file.clone())
    } else if let Some(n) = args.count {
        Source::Generated(n, args.size)
    } else {
        Source::Stdin(if args.nul { 0 } else { args.delimiter })
    };
    let key_delimiter = args.key_delimiter;
    let split = move |mut body: Vec<u8>| -> Input {
        match key_delimiter.and_then(|d| body.iter().position(|b| *b == d)) {
            Some(at) => {
                let key = String::from_utf8_lossy(&body[..at]).into_owned();
                body.drain(..=at);
                (Some(key), body)
            }
            None => (None, body),
        }
    };
    std::thread::Builder::new()
        .name("eh-send-input".into())
        .spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let push = |input: Input, chunk: &mut Vec<Input>| -> bool {
                chunk.push(input);
                if chunk.len() == CHUNK {
                    return tx.blocking_send(Ok(std::mem::take(chunk))).is_ok();
                }
                true
            };
            match source {
                Source::Data(d) => {
                    push(split(d.into_bytes()), &mut chunk);
                }
                Source::Files(files) => {
                    for f in files {
                        match std::fs::read(&f) {
                            Ok(body) => {
                                if !push((None, body), &mut chunk) {
                                    return;
                                }
                            }
                            Err(e) => {
                                let e =
                                    std::io::Error::new(e.kind(), format!("{}: {e}", f.display()));
                                let _ = tx.blocking_send(Ok(std::mem::take(&mut chunk)));
                                let _ = tx.blocking_send(Err(e));
                                return;
                            }
                        }
                    }
                }
                Source::Generated(n, size) => {
                    for _ in 0..n {
                        if !push((None, vec![b'x'; size]), &mut chunk) {
                            return;
                        }
                    }
                }
                Source::Stdin(delimiter) => {
                    let stdin = std::io::stdin();
                    let mut input = stdin.lock();
                    loop {
                        let mut line = Vec::new();
                        match input.read_until(delimiter, &mut line) {
                            Ok(0) => break,
                            Ok(_) => {
                                if line.last() == Some(&delimiter) {
                                    line.pop();
                                }
                                if !push(split(line), &mut chunk) {
                                    return;
                                }
                            }
                            Err(e) => {
                                let _ = tx.blocking_send(Ok(std::mem::take(&mut chunk)));
                                let _ = tx.blocking_send(Err(e));
                                return;
                            }
                        }
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = tx.blocking_send(Ok(chunk));
            }
        })
        .map_err(|e| Failure::runtime(format!("cannot start the input thread: {e}")))
}

/// Open batches per partition key, and the batches under way.
struct Sender<'a> {
    producer: &'a ProducerClient,
    partition: Option<String>,
    partition_key: Option<String>,
    properties: Vec<(String, String)>,
    content_type: Option<String>,
    in_flight: usize,
    /// Per partition key: the batch being filled and the bytes of the bodies in it.
    open: HashMap<Option<String>, (EventDataBatch, usize)>,
    sending: JoinSet<Result<(usize, usize), eventhubs::Error>>,
    added: u64,
    sent: u64,
    sent_bytes: u64,
    progress: Progress,
}

impl<'a> Sender<'a> {
    fn new(producer: &'a ProducerClient, args: &Args, progress: Progress) -> Self {
        Self {
            producer,
            partition: args.partition.clone(),
            partition_key: args.partition_key.clone(),
            properties: args.properties.clone(),
            content_type: args.content_type.clone(),
            in_flight: usize::from(args.in_flight),
            open: HashMap::new(),
            sending: JoinSet::new(),
            added: 0,
            sent: 0,
            sent_bytes: 0,
            progress,
        }
    }

    fn event(&self, body: Vec<u8>) -> EventData {
        let mut event = EventData::from(body);
        for (k, v) in &self.properties {
            event = event.with_property(k.clone(), v.as_str());
        }
        if let Some(ct) = &self.content_type {
            event = event.with_content_type(ct.clone());
        }
        event
    }

    async fn new_batch(&self, key: &Option<String>) -> Result<EventDataBatch, Failure> {
        let mut options = CreateBatchOptions::default();
        if let Some(p) = &self.partition {
            options = options.partition_id(p.clone());
        }
        if let Some(k) = key.as_ref().or(self.partition_key.as_ref()) {
            options = options.partition_key(k.clone());
        }
        Ok(self.producer.create_batch(options).await?)
    }

    /// Adds one event, sending its batch first when it is full.
    async fn add(&mut self, key: Option<String>, body: Vec<u8>) -> Result<(), Failure> {
        let number = self.added + 1;
        let len = body.len();
        let mut event = self.event(body);
        if !self.open.contains_key(&key) {
            let batch = self.new_batch(&key).await?;
            self.open.insert(key.clone(), (batch, 0));
        }
        for _ in 0..2 {
            let Some((batch, bytes)) = self.open.get_mut(&key) else {
                break;
            };
            match batch.try_add(event) {
                Ok(()) => {
                    *bytes += len;
                    self.added += 1;
                    return Ok(());
                }
                Err(e) if e.reason() == TryAddReason::Full => {
                    event = e.into_event();
                    let fresh = self.new_batch(&key).await?;
                    if let Some(full) = self.open.insert(key.clone(), (fresh, 0)) {
                        self.send(full).await?;
                    }
                }
                Err(e) => {
                    return Err(Failure::runtime(format!(
                        "event {number} ({} bytes) cannot be sent: {e}",
                        e.event().data().len()
                    )))
                }
            }
        }
        Err(Failure::runtime(format!(
            "event {number} does not fit in an empty batch"
        )))
    }

    /// Starts sending `batch`, first waiting for one under way when enough are.
    async fn send(&mut self, (batch, bytes): (EventDataBatch, usize)) -> Result<(), Failure> {
        while self.sending.len() >= self.in_flight {
            self.finish_one().await?;
        }
        let producer = self.producer.clone();
        let events = batch.len();
        self.sending
            .spawn(async move { producer.send_batch(batch).await.map(|()| (events, bytes)) });
        Ok(())
    }

    async fn finish_one(&mut self) -> Result<(), Failure> {
        match self.sending.join_next().await {
            Some(Ok(Ok((events, bytes)))) => {
                self.sent += events as u64;
                self.sent_bytes += bytes as u64;
                self.progress.add(events as u64);
                Ok(())
            }
            Some(Ok(Err(e))) => Err(e.into()),
            Some(Err(e)) => Err(Failure::runtime(format!("a send task failed: {e}"))),
            None => Ok(()),
        }
    }

    async fn flush_all(&mut self) -> Result<(), Failure> {
        let open: Vec<(EventDataBatch, usize)> = self.open.drain().map(|(_, b)| b).collect();
        for batch in open.into_iter().filter(|(b, _)| !b.is_empty()) {
            self.send(batch).await?;
        }
        Ok(())
    }

    async fn wait_all(&mut self) -> Result<(), Failure> {
        while !self.sending.is_empty() {
            self.finish_one().await?;
        }
        Ok(())
    }
}
