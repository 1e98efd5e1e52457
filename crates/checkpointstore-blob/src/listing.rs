//! The List Blobs response (`EnumerationResults`), read with `quick-xml`: each blob's name,
//! ETag, Last-Modified and metadata, and the marker of the next page.

use std::collections::BTreeMap;
use std::time::SystemTime;

use quick_xml::events::Event;
use quick_xml::Reader;

/// One listed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedBlob {
    pub name: String,
    /// As sent (listings give it without quotes).
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
    /// Metadata, keys lower-cased.
    pub metadata: BTreeMap<String, String>,
    /// `available`, `leased`, `expired`, `breaking` or `broken` (blob leases).
    pub lease_state: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Page {
    pub blobs: Vec<ListedBlob>,
    /// Where the next page starts; `None` on the last page.
    pub next_marker: Option<String>,
}

/// Parses a List Blobs response body.
pub(crate) fn parse(xml: &str) -> Result<Page, String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut page = Page::default();
    let mut blob: Option<ListedBlob> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "malformed listing at byte {}: {e}",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "Blob" && path.last().map(String::as_str) == Some("Blobs") {
                    blob = Some(ListedBlob {
                        name: String::new(),
                        etag: None,
                        last_modified: None,
                        metadata: BTreeMap::new(),
                        lease_state: None,
                    });
                }
                path.push(name);
            }
            Event::End(_) => {
                let closed = path.pop();
                let under_blobs = path.last().map(String::as_str) == Some("Blobs");
                if closed.as_deref() == Some("Blob") && under_blobs {
                    page.blobs.extend(blob.take());
                }
            }
            // Text comes in pieces: runs of characters, and entity or character references.
            Event::Text(t) => {
                let text = t
                    .xml_content()
                    .map_err(|e| format!("malformed text in listing: {e}"))?;
                append(&path, blob.as_mut(), &mut page, &text);
            }
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| format!("malformed reference in listing: {e}"))?;
                let text = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_xml_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name}; in listing"))?
                        .to_owned(),
                };
                append(&path, blob.as_mut(), &mut page, &text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(page)
}

/// Adds a piece of text to the field the reader is in.
fn append(path: &[String], blob: Option<&mut ListedBlob>, page: &mut Page, text: &str) {
    let at: Vec<&str> = path.iter().map(String::as_str).collect();
    match (at.as_slice(), blob) {
        ([.., "Blob", "Name"], Some(b)) => b.name.push_str(text),
        ([.., "Properties", "Etag"], Some(b)) => {
            b.etag.get_or_insert_with(String::new).push_str(text)
        }
        ([.., "Properties", "LeaseState"], Some(b)) => {
            b.lease_state.get_or_insert_with(String::new).push_str(text)
        }
        ([.., "Properties", "Last-Modified"], Some(b)) => {
            b.last_modified = httpdate::parse_http_date(text.trim()).ok();
        }
        ([.., "Metadata", key], Some(b)) => b
            .metadata
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push_str(text),
        ([_, "NextMarker"], _) if !text.is_empty() => page
            .next_marker
            .get_or_insert_with(String::new)
            .push_str(text),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_metadata_and_a_marker() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c"><Prefix>ns/hub/$default/</Prefix><MaxResults>2</MaxResults><Blobs><Blob><Name>ns/hub/$default/ownership/0</Name><Properties><Last-Modified>Wed, 02 Dec 2026 07:00:00 GMT</Last-Modified><Etag>0x8DC1</Etag><Content-Length>0</Content-Length></Properties><Metadata><ownerid>me &amp; you</ownerid></Metadata></Blob><Blob><Name>ns/hub/$default/checkpoint/0</Name><Properties><Etag>"0x8DC2"</Etag></Properties><Metadata><SequenceNumber>41</SequenceNumber><offset>4100</offset></Metadata></Blob></Blobs><NextMarker>2!abc</NextMarker></EnumerationResults>"#;
        let page = parse(xml).unwrap();
        assert_eq!(page.blobs.len(), 2);
        assert_eq!(page.blobs[0].name, "ns/hub/$default/ownership/0");
        assert_eq!(page.blobs[0].etag.as_deref(), Some("0x8DC1"));
        assert_eq!(page.blobs[0].metadata["ownerid"], "me & you");
        assert!(page.blobs[0].last_modified.is_some());
        assert_eq!(page.blobs[1].metadata["sequencenumber"], "41");
        assert_eq!(page.next_marker.as_deref(), Some("2!abc"));
        let last = parse("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>").unwrap();
        assert!(last.blobs.is_empty() && last.next_marker.is_none());
        assert!(parse("<a></b>").is_err());
    }
}
