//! The JSON line of `eh checkpoints export` and `import`: one checkpoint per line, read
//! strictly (an unknown or misspelt field is refused rather than silently dropped).

use eventhubs::Checkpoint;
use serde_json::{json, Value};

/// The fields a line may have.
const FIELDS: [&str; 6] = [
    "fully_qualified_namespace",
    "eventhub_name",
    "consumer_group",
    "partition_id",
    "sequence_number",
    "offset",
];

/// A checkpoint as one JSON object.
pub(super) fn to_json(c: &Checkpoint) -> Value {
    json!({
        "fully_qualified_namespace": c.fully_qualified_namespace,
        "eventhub_name": c.eventhub_name,
        "consumer_group": c.consumer_group,
        "partition_id": c.partition_id,
        "sequence_number": c.sequence_number,
        "offset": c.offset,
    })
}

/// A line read back: its partition and position (the scope fields are informational: an
/// import writes into the scope it is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Imported {
    pub partition_id: String,
    pub sequence_number: Option<i64>,
    pub offset: Option<String>,
    /// `namespace/hub/group` as the line names them, when it does.
    pub from: Option<String>,
}

/// Parses one line; the error says what is wrong with it.
pub(super) fn parse(line: &str) -> Result<Imported, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("not a JSON object".into());
    };
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field {unknown:?} (the fields are {})",
            FIELDS.join(", ")
        ));
    }
    let text = |name: &str| -> Result<Option<String>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{name} is {other}, not a string")),
        }
    };
    let partition_id = text("partition_id")?
        .filter(|p| !p.is_empty())
        .ok_or("partition_id is missing")?;
    let sequence_number = match fields.get("sequence_number") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| format!("sequence_number {n} is not a whole number"))?,
        ),
        Some(other) => return Err(format!("sequence_number is {other}, not a number")),
    };
    let offset = text("offset")?;
    if sequence_number.is_none() && offset.is_none() {
        return Err("neither sequence_number nor offset is given".into());
    }
    let from = match (
        text("fully_qualified_namespace")?,
        text("eventhub_name")?,
        text("consumer_group")?,
    ) {
        (Some(ns), Some(hub), Some(group)) => Some(format!("{ns}/{hub}/{group}")),
        _ => None,
    };
    Ok(Imported {
        partition_id,
        sequence_number,
        offset,
        from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_line_reads_back() {
        let mut c = Checkpoint::new("ns.example", "hub", "$Default", "3");
        c.sequence_number = Some(41);
        c.offset = Some("4100".into());
        let back = parse(&to_json(&c).to_string()).unwrap();
        assert_eq!(
            back,
            Imported {
                partition_id: "3".into(),
                sequence_number: Some(41),
                offset: Some("4100".into()),
                from: Some("ns.example/hub/$Default".into()),
            }
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, wanted) in [
            ("{", "not JSON"),
            ("[1]", "not a JSON object"),
            (
                r#"{"partition_id":"0","sequence_numbr":4}"#,
                "unknown field \"sequence_numbr\"",
            ),
            (r#"{"sequence_number":4}"#, "partition_id is missing"),
            (
                r#"{"partition_id":"0"}"#,
                "neither sequence_number nor offset",
            ),
            (
                r#"{"partition_id":0,"offset":"1"}"#,
                "partition_id is 0, not a string",
            ),
            (
                r#"{"partition_id":"0","sequence_number":1.5}"#,
                "not a whole number",
            ),
            (
                r#"{"partition_id":"0","sequence_number":"7"}"#,
                "not a number",
            ),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(wanted), "{line}: {e}");
        }
    }
}
