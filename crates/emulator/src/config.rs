//! Emulator configuration: defaults, and the JSON file in the shape of Microsoft's
//! emulator `Config.json` (`UserConfig.NamespaceConfig[].Entities[]`) plus our own options
//! under `UserConfig.Emulator`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value as Json;

/// One event hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// Hub name.
    pub name: String,
    /// Number of partitions (1–32).
    pub partition_count: usize,
    /// Consumer groups; `$Default` is always present.
    pub consumer_groups: Vec<String>,
}

impl HubConfig {
    /// A hub with `partitions` partitions and only `$Default`.
    pub fn new(name: impl Into<String>, partitions: usize) -> Self {
        Self {
            name: name.into(),
            partition_count: partitions,
            consumer_groups: vec!["$Default".into()],
        }
    }
}

/// How `jwt` (Microsoft Entra ID) put-tokens are treated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtPolicy {
    /// Accept any JWT, until the put-token's `expiration` (the default).
    AcceptAll,
    /// Refuse every JWT with 401.
    Reject,
    /// Check each JWT as Event Hubs does: an RS256 signature by one of these keys, the
    /// audience `https://eventhubs.azure.net` (with or without the slash), `exp` and `nbf`.
    /// Links it authorizes end at its `exp` (or the put-token's `expiration`, if sooner).
    Validate(std::sync::Arc<crate::jwt::JwtKeys>),
}

/// Retention limits of each partition log; whichever is hit first trims the oldest events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Maximum age (default 1 hour, like Microsoft's emulator).
    pub max_age: Duration,
    /// Maximum number of events per partition (default 1,000,000).
    pub max_events: usize,
    /// Maximum stored bytes per partition (default 1 GiB).
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(3600),
            max_events: 1_000_000,
            max_bytes: 1 << 30,
        }
    }
}

/// Where partition logs live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Storage {
    /// In memory only: fastest; everything is gone when the process ends (the default).
    #[default]
    Memory,
    /// Append-only segment files under a directory, recovered on start.
    Durable(DurableStorage),
}

/// The durable store's options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DurableStorage {
    /// Data directory: `<dir>/<hub>/<partition>/<first sequence number>.seg`.
    pub dir: PathBuf,
    /// When a send is acknowledged relative to the disk.
    pub sync: SyncPolicy,
    /// A partition starts a new segment file once its current one reaches this size
    /// (default 64 MiB, at most 1 GiB); whole segments are deleted as retention passes them.
    pub segment_bytes: u64,
    /// Event bodies kept in memory at most, shared evenly by the partitions (default
    /// 256 MiB; `None`: every body sent since the start). Older bodies — and after a
    /// restart, every recovered one — are read back from the segment files when a receiver
    /// asks for them, so retention can exceed memory.
    pub cache_bytes: Option<u64>,
}

impl DurableStorage {
    /// Durable storage in `dir` with group-commit `fsync` and 64 MiB segments.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            sync: SyncPolicy::Always,
            segment_bytes: 64 * 1024 * 1024,
            cache_bytes: Some(256 * 1024 * 1024),
        }
    }
}

/// When the durable store acknowledges a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Group commit: events are written and `fdatasync`ed before the send is accepted;
    /// every send arriving while one sync runs shares the next. Survives power loss.
    Always,
    /// Events are written to the file (the OS page cache) before the send is accepted, but
    /// never synced: survives the emulator crashing or being killed, not the machine.
    Never,
}

/// Everything the emulator needs to run.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Namespace name (informational).
    pub namespace: String,
    /// Hubs.
    pub hubs: Vec<HubConfig>,
    /// SAS policies: name and key. Default `RootManageSharedAccessKey` / `SAS_KEY_VALUE`.
    pub keys: Vec<(String, String)>,
    /// JWT handling. Default accept-all.
    pub jwt: JwtPolicy,
    /// Link max-message-size in bytes. Default 1 MiB (use 256 KiB to mimic Basic tier).
    pub max_message_size: u64,
    /// Largest AMQP frame accepted. Default 65536, like the service.
    pub max_frame_size: u32,
    /// Concurrent connections allowed. Default 1000. Connections still in their handshake
    /// do not count (up to as many again may be), so silent sockets cannot keep real
    /// clients out; a client over the limit gets `amqp:resource-limit-exceeded`.
    pub max_connections: usize,
    /// How long a new connection has to finish the protocol header, SASL and open before it
    /// is closed. Default 10 s.
    pub handshake_timeout: Duration,
    /// Links per connection allowed. Default 1000.
    pub max_links_per_connection: usize,
    /// Retention of every partition.
    pub retention: Retention,
    /// Memory (default) or durable segment files.
    pub storage: Storage,
    /// Faults to inject, for tests of clients (none by default; code only, never from
    /// `Config.json`).
    pub faults: crate::faults::Faults,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.keys.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Config")
            .field("namespace", &self.namespace)
            .field("hubs", &self.hubs)
            .field("key_names", &keys)
            .field("jwt", &self.jwt)
            .field("max_message_size", &self.max_message_size)
            .field("max_frame_size", &self.max_frame_size)
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("retention", &self.retention)
            .field("storage", &self.storage)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// Default SAS policy name, as in Microsoft's emulator connection string.
pub const DEFAULT_KEY_NAME: &str = "RootManageSharedAccessKey";
/// Default SAS key, as in Microsoft's emulator connection string.
pub const DEFAULT_KEY: &str = "SAS_KEY_VALUE";

impl Default for Config {
    /// One namespace with hub `eh1`: 4 partitions, consumer group `$Default`.
    fn default() -> Self {
        Self {
            namespace: "emulatorNs1".into(),
            hubs: vec![HubConfig::new("eh1", 4)],
            keys: vec![(DEFAULT_KEY_NAME.into(), DEFAULT_KEY.into())],
            jwt: JwtPolicy::AcceptAll,
            max_message_size: 1024 * 1024,
            max_frame_size: 65536,
            max_connections: 1000,
            handshake_timeout: Duration::from_secs(10),
            max_links_per_connection: 1000,
            retention: Retention::default(),
            storage: Storage::Memory,
            faults: crate::faults::Faults::default(),
        }
    }
}

/// A configuration problem, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration at {field}: {message}")]
pub struct ConfigError {
    /// JSON path of the field, e.g. `UserConfig.NamespaceConfig[0].Entities[1].PartitionCount`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// `"AcceptAll"`, `"Reject"` or `{"Validate": "<PEM file of certificates or public keys>"}`.
fn parse_jwt(jwt: &Json, path: &str) -> Result<JwtPolicy, ConfigError> {
    let expected = "must be \"AcceptAll\", \"Reject\" or {\"Validate\": \"<PEM file>\"}";
    match jwt {
        Json::String(s) if s == "AcceptAll" => Ok(JwtPolicy::AcceptAll),
        Json::String(s) if s == "Reject" => Ok(JwtPolicy::Reject),
        Json::Object(_) => {
            only(jwt, path, &["Validate"])?;
            let file = jwt
                .get("Validate")
                .and_then(Json::as_str)
                .ok_or_else(|| err(format!("{path}.Validate"), "must be a PEM file path"))?;
            let field = format!("{path}.Validate");
            let pem = std::fs::read(file)
                .map_err(|e| err(field.clone(), format!("cannot read {file}: {e}")))?;
            let keys = crate::jwt::JwtKeys::from_pem(&pem)
                .map_err(|e| err(field, format!("{file}: {e}")))?;
            Ok(JwtPolicy::Validate(std::sync::Arc::new(keys)))
        }
        _ => Err(err(path, expected)),
    }
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// The options of the `UserConfig.Emulator` block (ours; Microsoft's emulator has none).
const EMULATOR_OPTIONS: [&str; 13] = [
    "CacheBytes",
    "MaxMessageSizeBytes",
    "MaxFrameSizeBytes",
    "MaxConnections",
    "HandshakeTimeoutSeconds",
    "RetentionSeconds",
    "RetentionMaxEvents",
    "RetentionMaxBytes",
    "DataDir",
    "SegmentBytes",
    "Sync",
    "Jwt",
    "Keys",
];

/// Refuses a field of the object `o` (at `path`) that is not one of `known`: a misspelt
/// option must not be silently ignored. The error names the closest known field.
fn only(o: &Json, path: &str, known: &[&str]) -> Result<(), ConfigError> {
    let Some(fields) = o.as_object() else {
        return Ok(());
    };
    let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) else {
        return Ok(());
    };
    let at = if path.is_empty() {
        unknown.clone()
    } else {
        format!("{path}.{unknown}")
    };
    let distance =
        |k: &str| strsim::damerau_levenshtein(&k.to_lowercase(), &unknown.to_lowercase());
    let hint = known
        .iter()
        .filter(|k| !k.starts_with('$'))
        .min_by_key(|k| distance(k))
        .filter(|k| distance(k) <= (unknown.len() / 3).max(2))
        .map_or_else(String::new, |k| format!(" (did you mean {k}?)"));
    Err(err(
        at,
        format!(
            "unknown option{hint}; the options here are {}",
            known.join(", ")
        ),
    ))
}

impl Config {
    /// Parses a configuration file's JSON text. Fields are checked by name: an unknown or
    /// misspelt one is an error naming its path.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let root: Json =
            serde_json::from_str(text).map_err(|e| err("$", format!("not valid JSON: {e}")))?;
        only(&root, "", &["UserConfig", "$schema"])?;
        let user = root
            .get("UserConfig")
            .ok_or_else(|| err("UserConfig", "missing"))?;
        only(
            user,
            "UserConfig",
            &["NamespaceConfig", "LoggingConfig", "Emulator"],
        )?;
        if let Some(logging) = user.get("LoggingConfig") {
            only(logging, "UserConfig.LoggingConfig", &["Type"])?;
        }
        let namespaces = user
            .get("NamespaceConfig")
            .and_then(Json::as_array)
            .ok_or_else(|| err("UserConfig.NamespaceConfig", "missing or not an array"))?;
        if namespaces.len() != 1 {
            return Err(err(
                "UserConfig.NamespaceConfig",
                "must hold exactly one namespace",
            ));
        }
        let ns = &namespaces[0];
        let ns_path = "UserConfig.NamespaceConfig[0]";
        only(ns, ns_path, &["Type", "Name", "Entities"])?;
        let mut config = Self::default();
        if let Some(name) = ns.get("Name") {
            config.namespace = name
                .as_str()
                .ok_or_else(|| err(format!("{ns_path}.Name"), "must be a string"))?
                .to_owned();
        }
        let entities = ns
            .get("Entities")
            .and_then(Json::as_array)
            .ok_or_else(|| err(format!("{ns_path}.Entities"), "missing or not an array"))?;
        if entities.is_empty() || entities.len() > 10 {
            return Err(err(
                format!("{ns_path}.Entities"),
                "must hold 1 to 10 event hubs",
            ));
        }
        config.hubs = entities
            .iter()
            .enumerate()
            .map(|(i, e)| parse_hub(e, &format!("{ns_path}.Entities[{i}]")))
            .collect::<Result<_, _>>()?;
        for (i, h) in config.hubs.iter().enumerate() {
            if config.hubs[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&h.name))
            {
                return Err(err(
                    format!("{ns_path}.Entities[{i}].Name"),
                    format!("duplicate event hub {:?}", h.name),
                ));
            }
        }
        if let Some(opts) = user.get("Emulator") {
            apply_options(&mut config, opts, "UserConfig.Emulator")?;
        }
        Ok(config)
    }
}

fn valid_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    !name.is_empty()
        && name.len() <= 256
        && name.chars().all(ok_char)
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn parse_hub(e: &Json, path: &str) -> Result<HubConfig, ConfigError> {
    only(e, path, &["Name", "PartitionCount", "ConsumerGroups"])?;
    let name = e
        .get("Name")
        .and_then(Json::as_str)
        .ok_or_else(|| err(format!("{path}.Name"), "missing or not a string"))?;
    if !valid_name(name) {
        return Err(err(format!("{path}.Name"), format!("{name:?} is not a valid event hub name (letters, digits, '-', '_', '.', '/'; must start and end with a letter or digit)")));
    }
    let pc_path = format!("{path}.PartitionCount");
    let partition_count = match e.get("PartitionCount") {
        Some(Json::Number(n)) => n
            .as_u64()
            .ok_or_else(|| err(&pc_path, "must be a whole number"))?,
        Some(Json::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| err(&pc_path, format!("{s:?} is not a whole number")))?,
        Some(_) => return Err(err(&pc_path, "must be a number")),
        None => return Err(err(&pc_path, "missing")),
    };
    if !(1..=32).contains(&partition_count) {
        return Err(err(
            &pc_path,
            format!("{partition_count} is outside 1..=32"),
        ));
    }
    let mut consumer_groups = vec!["$Default".to_owned()];
    if let Some(cgs) = e.get("ConsumerGroups") {
        let cgs = cgs
            .as_array()
            .ok_or_else(|| err(format!("{path}.ConsumerGroups"), "must be an array"))?;
        if cgs.len() > 20 {
            return Err(err(
                format!("{path}.ConsumerGroups"),
                "at most 20 consumer groups",
            ));
        }
        for (i, cg) in cgs.iter().enumerate() {
            only(cg, &format!("{path}.ConsumerGroups[{i}]"), &["Name"])?;
            let p = format!("{path}.ConsumerGroups[{i}].Name");
            let name = cg
                .get("Name")
                .and_then(Json::as_str)
                .ok_or_else(|| err(&p, "missing or not a string"))?;
            if name.eq_ignore_ascii_case("$default") {
                continue;
            }
            if !valid_name(name) {
                return Err(err(
                    &p,
                    format!("{name:?} is not a valid consumer group name"),
                ));
            }
            consumer_groups.push(name.to_owned());
        }
    }
    Ok(HubConfig {
        name: name.to_owned(),
        partition_count: partition_count as usize,
        consumer_groups,
    })
}

fn apply_options(config: &mut Config, o: &Json, path: &str) -> Result<(), ConfigError> {
    only(o, path, &EMULATOR_OPTIONS)?;
    let num = |key: &str| -> Result<Option<u64>, ConfigError> {
        match o.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| err(format!("{path}.{key}"), "must be a whole number")),
        }
    };
    if let Some(v) = num("MaxMessageSizeBytes")? {
        config.max_message_size = v;
    }
    if let Some(v) = num("MaxFrameSizeBytes")? {
        config.max_frame_size = u32::try_from(v).ok().filter(|v| *v >= 512).ok_or_else(|| {
            err(
                format!("{path}.MaxFrameSizeBytes"),
                "must be 512..=4294967295",
            )
        })?;
    }
    if let Some(v) = num("MaxConnections")? {
        config.max_connections = v as usize;
    }
    if let Some(v) = num("HandshakeTimeoutSeconds")? {
        if v == 0 {
            return Err(err(
                format!("{path}.HandshakeTimeoutSeconds"),
                "must be at least 1",
            ));
        }
        config.handshake_timeout = Duration::from_secs(v);
    }
    if let Some(v) = num("RetentionSeconds")? {
        config.retention.max_age = Duration::from_secs(v);
    }
    if let Some(v) = num("RetentionMaxEvents")? {
        config.retention.max_events = v as usize;
    }
    if let Some(v) = num("RetentionMaxBytes")? {
        config.retention.max_bytes = v;
    }
    if let Some(dir) = o.get("DataDir") {
        let dir = dir
            .as_str()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| err(format!("{path}.DataDir"), "must be a directory path"))?;
        config.storage = Storage::Durable(DurableStorage::new(dir));
    }
    if let Storage::Durable(d) = &mut config.storage {
        if let Some(v) = num("SegmentBytes")? {
            if !(4096..=1 << 30).contains(&v) {
                return Err(err(
                    format!("{path}.SegmentBytes"),
                    "must be 4096 to 1073741824 (1 GiB)",
                ));
            }
            d.segment_bytes = v;
        }
        if let Some(v) = num("CacheBytes")? {
            d.cache_bytes = Some(v);
        }
        if let Some(sync) = o.get("Sync") {
            d.sync = match sync.as_str() {
                Some("Always") => SyncPolicy::Always,
                Some("Never") => SyncPolicy::Never,
                _ => {
                    return Err(err(
                        format!("{path}.Sync"),
                        "must be \"Always\" or \"Never\"",
                    ))
                }
            };
        }
    } else if ["Sync", "SegmentBytes", "CacheBytes"]
        .iter()
        .any(|k| o.get(*k).is_some())
    {
        return Err(err(
            format!("{path}.DataDir"),
            "Sync, SegmentBytes and CacheBytes need a DataDir",
        ));
    }
    if let Some(jwt) = o.get("Jwt") {
        config.jwt = parse_jwt(jwt, &format!("{path}.Jwt"))?;
    }
    if let Some(keys) = o.get("Keys") {
        let keys = keys
            .as_array()
            .ok_or_else(|| err(format!("{path}.Keys"), "must be an array"))?;
        config.keys = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                only(k, &format!("{path}.Keys[{i}]"), &["Name", "Key"])?;
                let name = k
                    .get("Name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| err(format!("{path}.Keys[{i}].Name"), "missing"))?;
                let key = k
                    .get("Key")
                    .and_then(Json::as_str)
                    .ok_or_else(|| err(format!("{path}.Keys[{i}].Key"), "missing"))?;
                Ok((name.to_owned(), key.to_owned()))
            })
            .collect::<Result<_, ConfigError>>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Microsoft's sample Config.json is accepted, with the string partition count form.
    #[test]
    fn microsoft_sample() {
        let c = Config::from_json(
            r#"{"UserConfig":{"NamespaceConfig":[{"Type":"EventHub","Name":"emulatorNs1","Entities":[
                {"Name":"eh1","PartitionCount":"2","ConsumerGroups":[{"Name":"cg1"}]}]}],
                "LoggingConfig":{"Type":"File"}}}"#,
        )
        .unwrap();
        assert_eq!(
            c.hubs,
            vec![HubConfig {
                name: "eh1".into(),
                partition_count: 2,
                consumer_groups: vec!["$Default".into(), "cg1".into()]
            }]
        );
    }

    /// Each invalid field is named in the error.
    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("{", "$"),
            (r#"{"UserConfig":{}}"#, "UserConfig.NamespaceConfig"),
            (
                r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"eh1","PartitionCount":0}]}]}}"#,
                "UserConfig.NamespaceConfig[0].Entities[0].PartitionCount",
            ),
            (
                r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"-x","PartitionCount":1}]}]}}"#,
                "UserConfig.NamespaceConfig[0].Entities[0].Name",
            ),
            (
                r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"a","PartitionCount":"two"}]}]}}"#,
                "UserConfig.NamespaceConfig[0].Entities[0].PartitionCount",
            ),
            (
                r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"a","PartitionCount":1},{"Name":"A","PartitionCount":1}]}]}}"#,
                "UserConfig.NamespaceConfig[0].Entities[1].Name",
            ),
            (
                r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"a","PartitionCount":1}]}],"Emulator":{"Jwt":"maybe"}}}"#,
                "UserConfig.Emulator.Jwt",
            ),
        ];
        for (json, field) in cases {
            assert_eq!(Config::from_json(json).unwrap_err().field, field, "{json}");
        }
    }

    /// A misspelt or unknown option is refused with its path (and the likely intended
    /// name), never silently ignored.
    #[test]
    fn unknown_options_are_refused() {
        let hub = r#"{"Name":"eh1","PartitionCount":1}"#;
        let doc = |user_extra: &str, ns_extra: &str, hub: &str| {
            format!(
                r#"{{"UserConfig":{{"NamespaceConfig":[{{"Type":"EventHub","Name":"n"{ns_extra},"Entities":[{hub}]}}]{user_extra}}}}}"#
            )
        };
        let cases = [
            (
                doc(r#","Emulator":{"RetentionSecond":5}"#, "", hub),
                "UserConfig.Emulator.RetentionSecond",
                "RetentionSeconds",
            ),
            (
                doc(r#","Emulator":{"MaxConection":5}"#, "", hub),
                "UserConfig.Emulator.MaxConection",
                "MaxConnections",
            ),
            (
                doc(r#","Emulater":{}"#, "", hub),
                "UserConfig.Emulater",
                "Emulator",
            ),
            (
                doc("", r#","Entitys":[]"#, hub),
                "UserConfig.NamespaceConfig[0].Entitys",
                "Entities",
            ),
            (
                doc(
                    "",
                    "",
                    r#"{"Name":"eh1","PartitionCount":1,"ConsumerGroup":[]}"#,
                ),
                "UserConfig.NamespaceConfig[0].Entities[0].ConsumerGroup",
                "ConsumerGroups",
            ),
            (
                doc(
                    "",
                    "",
                    r#"{"Name":"eh1","PartitionCount":1,"ConsumerGroups":[{"Nmae":"a"}]}"#,
                ),
                "UserConfig.NamespaceConfig[0].Entities[0].ConsumerGroups[0].Nmae",
                "Name",
            ),
            (
                doc(
                    r#","Emulator":{"Keys":[{"Name":"a","Key":"k","Rights":1}]}"#,
                    "",
                    hub,
                ),
                "UserConfig.Emulator.Keys[0].Rights",
                "",
            ),
            (
                doc(r#","LoggingConfig":{"Type":"File","Level":1}"#, "", hub),
                "UserConfig.LoggingConfig.Level",
                "",
            ),
            (
                r#"{"UserConfig":{},"UserConf":1}"#.to_owned(),
                "UserConf",
                "UserConfig",
            ),
        ];
        for (text, field, hint) in cases {
            let e = Config::from_json(&text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.message.starts_with("unknown option"), "{e}");
            if !hint.is_empty() {
                assert!(e.message.contains(&format!("did you mean {hint}?")), "{e}");
            }
        }
        // Every known option still parses, `$schema` at the top included.
        let all = doc(
            r#","LoggingConfig":{"Type":"Console"},"Emulator":{"MaxMessageSizeBytes":262144,
            "MaxFrameSizeBytes":65536,"MaxConnections":10,"HandshakeTimeoutSeconds":3,"RetentionSeconds":60,
            "RetentionMaxEvents":100,"RetentionMaxBytes":1000,"DataDir":"/tmp/x",
            "SegmentBytes":4096,"CacheBytes":1000000,"Sync":"Never","Jwt":"Reject","Keys":[{"Name":"a","Key":"k"}]}"#,
            "",
            r#"{"Name":"eh1","PartitionCount":"1","ConsumerGroups":[{"Name":"cg"}]}"#,
        )
        .replacen('{', r#"{"$schema":"Config-schema.json","#, 1);
        Config::from_json(&all).unwrap();
    }

    /// `Debug` lists key names but never keys.
    #[test]
    fn debug_redacts_keys() {
        assert!(!format!("{:?}", Config::default()).contains(DEFAULT_KEY));
    }
}
