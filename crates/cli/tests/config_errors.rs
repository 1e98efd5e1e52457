//! `eh emulator` refuses bad configuration with an error naming the field, and exits
//! non-zero without listening.

use std::process::Command;

#[test]
fn invalid_config_names_the_field_and_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("eh-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"eh1","PartitionCount":"many"}]}]}}"#,
            "UserConfig.NamespaceConfig[0].Entities[0].PartitionCount",
        ),
        (
            r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"eh1","PartitionCount":2}]}],"Emulator":{"Sync":"Always"}}}"#,
            "UserConfig.Emulator.DataDir",
        ),
        ("not json", "$"),
        (
            r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"eh1","PartitionCount":2}]}],"Emulator":{"RetentionSecond":60}}}"#,
            "UserConfig.Emulator.RetentionSecond: unknown option (did you mean RetentionSeconds?)",
        ),
    ];
    for (i, (json, field)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("config-{i}.json"));
        std::fs::write(&path, json).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_eh"))
            .args(["emulator", "--port", "0", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{json}");
        assert!(stderr.contains(field), "{field} named in {stderr:?}");
        assert!(out.stdout.is_empty(), "nothing printed to stdout");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(["emulator", "--port", "0", "--config"])
        .arg(dir.join("missing.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}
